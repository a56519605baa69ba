/* commands.h: the subcommands of ./emotion. Each takes the arguments after
 * its own name (argv[0] is the subcommand name) and returns the exit code:
 * 0 on success, 1 on a failure (bad file, bad data), 2 on bad usage. */
#ifndef COMMANDS_H
#define COMMANDS_H

int cmd_data(int argc, char **argv);          /* cli/cmd_data.c: dispatch + info */
int cmd_data_convert(int argc, char **argv);  /* cli/cmd_data_convert.c */
int cmd_data_synth(int argc, char **argv);    /* cli/cmd_data_synth.c */
int cmd_data_export(int argc, char **argv);   /* cli/cmd_data_export.c */
int cmd_train(int argc, char **argv);         /* cli/cmd_train.c */
int cmd_eval(int argc, char **argv);          /* cli/cmd_eval.c */
int cmd_predict(int argc, char **argv);       /* cli/cmd_predict.c */
int cmd_bench(int argc, char **argv);         /* cli/cmd_bench.c */

#endif

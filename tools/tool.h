/* tool.h — what the subcommands of `ustcp` share. */
#ifndef USTCP_TOOL_H
#define USTCP_TOOL_H

/* Each subcommand: argv[0] is its own name. Returns the exit code. */
int cmd_demo(int argc, char **argv);
int cmd_perf(int argc, char **argv);
int cmd_echo(int argc, char **argv);
int cmd_nc(int argc, char **argv);
int cmd_httpd(int argc, char **argv);

/* Print "ustcp <cmd>: <message>" to stderr; returns 2 (usage error). */
int tool_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

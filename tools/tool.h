/* tool.h — what the subcommands of `ustcp` share. */
#ifndef USTCP_TOOL_H
#define USTCP_TOOL_H

/* Each subcommand: argv[0] is its own name. Returns the exit code. */
int cmd_demo(int argc, char **argv);
int cmd_perf(int argc, char **argv);
int cmd_echo(int argc, char **argv);
int cmd_nc(int argc, char **argv);
int cmd_httpd(int argc, char **argv);
int cmd_talk(int argc, char **argv);
int cmd_netstat(int argc, char **argv);
int cmd_trace(int argc, char **argv);

/* Print "ustcp <cmd>: <message>" to stderr; returns 2 (usage error). */
int tool_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The least IPv4 MTU (RFC 791), the least IPv6 one (RFC 8200 §5), and the
 * largest IP packet. */
#define TOOL_MTU_MIN 68
#define TOOL_MTU_MIN6 1280
#define TOOL_MTU_MAX 65535
/* --mtu's value into *mtu: returns 0, or tool_usage_error's 2 with a
 * message saying what is wrong with it. */
int tool_parse_mtu(const char *cmd, const char *v, unsigned *mtu);

#endif

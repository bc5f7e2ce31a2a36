/* stack_info.c — the smallest program on the installed library: make a
 * stack with the defaults, print what it was given and what it counts, and
 * free it. Nothing touches a network: the stack only does work when frames
 * and time are fed to it. */
#include <inttypes.h>
#include <stdio.h>

#include <ustcp/ustcp.h>

int main(void)
{
	struct ustcp_stack *s = ustcp_stack_new(NULL);
	if (!s) {
		fprintf(stderr, "stack_info: out of memory\n");
		return 1;
	}
	const struct ustcp_config *cfg = ustcp_stack_config(s);
	printf("a stack for %" PRIu32 " connections, MTU %u, congestion control %s\n",
	       cfg->max_conns, (unsigned)cfg->mtu, cfg->cc);
	printf("%d counters and %d drop reasons, all zero for now:\n", (int)USTCP_C_COUNT,
	       (int)USTCP_DROP_COUNT);
	for (int c = 0; c < 3; c++)
		printf("  %-12s %" PRIu64 "  %s\n", ustcp_counter_name(c), ustcp_counter(s, c),
		       ustcp_counter_desc(c));
	ustcp_stack_free(s);
	return 0;
}

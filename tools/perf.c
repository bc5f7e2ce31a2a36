/* perf.c — `ustcp perf`: throughput on the simulated link (--sim). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "perf.h"
#include "tool.h"

static bool has_arg(int argc, char **argv, const char *const *names)
{
	for (int i = 1; i < argc; i++)
		for (const char *const *n = names; *n; n++)
			if (!strcmp(argv[i], *n))
				return true;
	return false;
}

int cmd_perf(int argc, char **argv)
{
	static const char *const sim[] = {"--sim", NULL};
	static const char *const help[] = {"-h", "--help", NULL};
	if (has_arg(argc, argv, sim))
		return perf_sim_main(argc, argv);
	if (has_arg(argc, argv, help)) {
		perf_sim_usage();
		return 0;
	}
	return tool_usage_error("perf", "only the simulated link exists for now: use --sim "
					"(real devices come later)");
}

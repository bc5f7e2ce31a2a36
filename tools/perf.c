/* perf.c — `ustcp perf`: throughput, on the simulated link (--sim) or on a
 * TAP device with iperf3's protocol (-s, -c). The options say which. */
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
	static const char *const iperf[] = {"-s", "-c", "--server", "--client", NULL};
	static const char *const help[] = {"-h", "--help", NULL};
	if (has_arg(argc, argv, sim))
		return perf_sim_main(argc, argv);
	if (has_arg(argc, argv, iperf))
		return perf_iperf_main(argc, argv);
	if (has_arg(argc, argv, help)) {
		perf_sim_usage();
		printf("\n");
		perf_iperf_usage();
		return 0;
	}
	return tool_usage_error("perf", "wants --sim (the simulated link), or -s or -c HOST "
					"(iperf3's test on a TAP device)");
}

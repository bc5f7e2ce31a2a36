/* perf.h — `ustcp perf`'s halves: a bulk transfer between two stacks on
 * the simulated link (perf_sim.c). It takes `perf`'s arguments (argv[0] is
 * "perf") and returns the exit code. */
#ifndef USTCP_PERF_H
#define USTCP_PERF_H

int perf_sim_main(int argc, char **argv);
void perf_sim_usage(void);

#endif

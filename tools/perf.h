/* perf.h — the two halves of `ustcp perf`: a bulk transfer between two
 * stacks on the simulated link (perf_sim.c), and iperf3's TCP test on a
 * real device, as its server or its client (perf_iperf.c). Each takes
 * `perf`'s arguments (argv[0] is "perf") and returns the exit code. */
#ifndef USTCP_PERF_H
#define USTCP_PERF_H

int perf_sim_main(int argc, char **argv);
void perf_sim_usage(void);

int perf_iperf_main(int argc, char **argv);
void perf_iperf_usage(void);

#endif

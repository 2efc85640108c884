/*
 * What the parts of myctr-monitor (monitor.c, forward.c) share.
 */
#ifndef MYCTR_MONITOR_H
#define MYCTR_MONITOR_H

#include <stddef.h>
#include <stdint.h>

/* now_ms is CLOCK_MONOTONIC in milliseconds. */
int64_t now_ms(void);

/* rfc3339_now writes the local time as Go's time.RFC3339 does
 * (2006-01-02T15:04:05+01:00, Z for UTC): the network log's lines begin
 * with it, whichever program writes them. */
void rfc3339_now(char *out, size_t cap);

/* forward_main is "myctr-monitor forward ...", the port forwarder's relay
 * (forward.c). */
int forward_main(int argc, char **argv);

#endif

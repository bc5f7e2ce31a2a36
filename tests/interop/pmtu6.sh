#!/bin/bash
# pmtu6.sh USTCP — pmtu.sh over IPv6 (RFC 8201): a 1280-byte second hop,
# ICMPv6 packet too big from the router, then segments that fit.
export PMTU_FAMILY=6
# shellcheck source=pmtu.sh
source "$(dirname "$0")/pmtu.sh"

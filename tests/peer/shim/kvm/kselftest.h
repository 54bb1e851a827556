/* SPDX-License-Identifier: MIT */
/* <kselftest.h> of the KVM selftests, for the peer suite: see gs_peer_kvm.h. */
#include "gs_peer_kvm.h"

/* SPDX-License-Identifier: MIT */
/* <ucall_common.h> of the KVM selftests, for the peer suite: see gs_peer_kvm.h. */
#include "gs_peer_kvm.h"

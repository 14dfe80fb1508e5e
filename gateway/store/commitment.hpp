// What Storage Commitment promises: an instance is committed when the index holds it under the
// SOP class the sender names. An indexed instance's blob was fsync'd before its row committed,
// and the row only goes with a purge, so "indexed" is "safe here"; anything else is a failure
// with the reason PS3.3 C.14.1.1 gives for it.
#pragma once

#include "codecs/dicom/storage_commitment.hpp"
#include "gateway/store/index.hpp"

namespace countylink::store {

// The report for `request` from equipment of `township`: committed, or failed for each
// reference in request order: not stored by this township 0x0112 (another township's objects
// are not its business), stored under another SOP class 0x0119, malformed item 0x0110.
// Blocking (index reads): run on the workers.
codecs::dicom::CommitmentReport decide_commitment(const codecs::dicom::CommitmentRequest& request,
                                                  const std::string& township, Index& index);

}  // namespace countylink::store

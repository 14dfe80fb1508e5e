// A DCMTK dataset we built ourselves (an N-EVENT-REPORT, a converted ECG) as bytes in memory.
// Untrusted bytes are not read back this way: DCMTK allocates declared lengths before reading
// them (see storage_commitment.cpp for the reader used on requests).
#pragma once

#include <cstddef>
#include <vector>

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>

namespace countylink::codecs::dicom {

// Appends `dataset` encoded in `syntax` (explicit lengths) to `out`; throws std::runtime_error
// if DCMTK cannot encode it (a bug in what we built, not the peer's doing).
void write_dataset(DcmDataset& dataset, E_TransferSyntax syntax, std::vector<std::byte>& out);

}  // namespace countylink::codecs::dicom

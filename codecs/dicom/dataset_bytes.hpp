// A DCMTK dataset to and from bytes in memory, for the small datasets that travel inside DIMSE
// messages (N-ACTION, N-EVENT-REPORT) and the objects we build ourselves (ECG conversion).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>

namespace countylink::codecs::dicom {

// Appends `dataset` encoded in `syntax` (explicit lengths) to `out`; throws std::runtime_error
// if DCMTK cannot encode it (a bug in what we built, not the peer's doing).
void write_dataset(DcmDataset& dataset, E_TransferSyntax syntax, std::vector<std::byte>& out);

// Reads `bytes` (a whole dataset in implicit or explicit VR little endian `syntax`) into
// `dataset`; the reason when they are not one. Never reads outside `bytes`, and never allocates
// more than their size for a value (every declared length is checked first).
std::string read_dataset(std::span<const std::byte> bytes, E_TransferSyntax syntax,
                         DcmDataset& dataset);

}  // namespace countylink::codecs::dicom

// Placeholder interface for the DICOM ECG converter (replaced by the converter's branch).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "codecs/ecg/waveform.hpp"

namespace countylink::codecs::ecg {

struct DicomOptions {
    std::string uid_seed;
    std::string institution;
};

std::vector<std::byte> to_dicom(const Waveform& waveform, const DicomOptions& options);

}  // namespace countylink::codecs::ecg

#include "codecs/ecg/to_dicom.hpp"

#include <stdexcept>

namespace countylink::codecs::ecg {

std::vector<std::byte> to_dicom(const Waveform&, const DicomOptions&) {
    throw std::runtime_error("DICOM conversion not built yet");
}

}  // namespace countylink::codecs::ecg

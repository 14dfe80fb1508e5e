// Placeholder until the DICOM waveform reader lands: refuses with a clear reason.
#include "codecs/ecg/read.hpp"

namespace countylink::codecs::ecg {

ParseResult read_dicom_ecg(std::span<const std::byte>) {
    return ParseResult::fail(ErrorKind::unsupported, "DICOM waveform files are not read yet");
}

ParseResult read_dicom_ecg_file(const std::filesystem::path&) {
    return ParseResult::fail(ErrorKind::unsupported, "DICOM waveform files are not read yet");
}

}  // namespace countylink::codecs::ecg

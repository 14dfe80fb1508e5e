// Placeholder until this format's parser lands: refuses with a clear reason.
#include "codecs/ecg/read.hpp"

namespace countylink::codecs::ecg {

ParseResult read_aecg(std::span<const std::byte>) {
    return ParseResult::fail(ErrorKind::unsupported, "HL7 aECG files are not read yet");
}

}  // namespace countylink::codecs::ecg

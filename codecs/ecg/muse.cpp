// Placeholder until this format's parser lands: refuses with a clear reason.
#include "codecs/ecg/read.hpp"

namespace countylink::codecs::ecg {

ParseResult read_muse(std::span<const std::byte>) {
    return ParseResult::fail(ErrorKind::unsupported, "GE MUSE XML files are not read yet");
}

}  // namespace countylink::codecs::ecg

// Placeholder until this format's parser lands: refuses with a clear reason.
#include "codecs/ecg/read.hpp"

namespace countylink::codecs::ecg {

ParseResult read_wfdb(const std::filesystem::path&) {
    return ParseResult::fail(ErrorKind::unsupported, "WFDB files are not read yet");
}

}  // namespace countylink::codecs::ecg

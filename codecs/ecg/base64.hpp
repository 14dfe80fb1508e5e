// Base64 as XML ECG formats carry waveforms (Philips Sierra, GE MUSE): line-wrapped, padded.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace countylink::codecs::ecg {

// Decodes RFC 4648 base64; white space anywhere is skipped, '=' padding is allowed only at the
// end. nullopt for any other character or a dangling bit group, with the offset of the first
// bad character in `*bad_at` (text.size() for a truncated final group).
std::optional<std::vector<std::byte>> decode_base64(std::string_view text, std::size_t* bad_at);

}  // namespace countylink::codecs::ecg

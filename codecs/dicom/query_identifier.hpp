// C-FIND identifiers (PS3.4 C.4.1): the keys a query asks about, read from untrusted bytes with
// our DatasetReader, and the identifiers of the matches we answer with, written with DCMTK.
// Text is UTF-8 on our side: requests are converted from their Specific Character Set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countylink::codecs::dicom {

struct QueryKey {
    uint32_t tag = 0;        // group << 16 | element
    std::string vr;          // as sent (explicit VR) or from the data dictionary (implicit)
    std::string value;       // the matching value, UTF-8; empty: universal match
    bool matchable = false;  // a text value we can match on (not a sequence or binary VR)
    bool operator==(const QueryKey&) const = default;
};

struct QueryIdentifier {
    std::vector<QueryKey> keys;  // in ascending tag order, as sent
    std::string error;           // why the bytes are no usable identifier; empty: fine

    // The key for `tag`, or nullptr.
    const QueryKey* find(uint32_t tag) const;
};

// Reads a C-FIND identifier in `transfer_syntax` (implicit or explicit VR little endian). Text
// values are converted to UTF-8 from (0008,0005); at most 512 keys; never reads past `bytes`.
QueryIdentifier parse_query_identifier(std::span<const std::byte> bytes,
                                       std::string_view transfer_syntax);

// Encodes a response identifier (tag, UTF-8 text value; VRs from the dictionary, empty values
// zero length) in `transfer_syntax`, with Specific Character Set ISO_IR 192 when any value is
// not ASCII; throws std::invalid_argument for a syntax or tag we cannot write.
std::vector<std::byte> encode_query_response(std::vector<std::pair<uint32_t, std::string>> values,
                                             std::string_view transfer_syntax);

}  // namespace countylink::codecs::dicom

// The Part-10 file frame around a dataset: preamble, "DICM" and the File Meta Information group.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/compress/sample_filter.hpp"
#include "codecs/dicom/dataset_check.hpp"

namespace countylink::codecs::dicom {

// Our implementation identity, written into every file meta header and A-ASSOCIATE-AC.
inline constexpr std::string_view kImplementationClassUid = "1.2.826.0.1.3680043.10.1234.1";
inline constexpr std::string_view kImplementationVersionName = "COUNTYLINK_010";

struct MetaInfo {
    std::string sop_class_uid;
    std::string sop_instance_uid;
    std::string transfer_syntax_uid;
};

// Encodes preamble + "DICM" + group 0002 (explicit VR LE, with group length). Deterministic:
// the same MetaInfo always gives the same bytes, so identical datasets give identical files.
std::vector<std::byte> encode_part10_header(const MetaInfo& meta);

// Offset of the first dataset byte in a Part-10 file whose beginning is `head` (needs the
// preamble and the whole meta group); nullopt if `head` is not a well-formed Part-10 start.
std::optional<std::size_t> dataset_offset(std::span<const std::byte> head);

}  // namespace countylink::codecs::dicom

namespace countylink::codecs::dicom {

// What a Part-10 file's meta group says, and where its dataset starts. Reads the group element
// by element (explicit VR little endian), so a missing or wrong group length does not matter.
struct Part10Start {
    MetaInfo meta;
    std::size_t dataset_offset = 0;
};

// nullopt if `head` (the file's first bytes, at least the whole meta group) is not a Part-10
// start: no "DICM", or a malformed meta group.
std::optional<Part10Start> read_part10_start(std::span<const std::byte> head);

}  // namespace countylink::codecs::dicom

namespace countylink::codecs::dicom {

// Where the value of the element `hint` names lies in the Part-10 file at `path`: found by
// its tag and length near the end of the file (large sample values come last). nullopt when
// not found; the range only steers compression, so a miss costs ratio, never correctness.
std::optional<compress::SampleRange> locate_samples(const std::filesystem::path& path,
                                                    const SampleHint& hint);

}  // namespace countylink::codecs::dicom

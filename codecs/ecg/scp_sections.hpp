// SCP-ECG (EN 1064 / ISO 11073-91064) internals shared by scp.cpp and its section readers: the
// file layout (CRCs, section 0 pointers, ID headers), the per-section structures, and Huffman
// decoding. Private to codecs/ecg; the public entry point is read_scp() in read.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/ecg/waveform.hpp"

namespace countylink::codecs::ecg::scp {

// Why a file is refused; nullopt means "fine, go on".
struct Refusal {
    ErrorKind kind = ErrorKind::malformed;
    std::string reason;
};
using Status = std::optional<Refusal>;

Refusal malformed(std::string reason);

// Little-endian values at `at`; the caller has checked that the bytes are there.
inline std::uint16_t le16(std::span<const std::byte> b, std::size_t at) {
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(b[at]) |
                                      std::to_integer<unsigned>(b[at + 1]) << 8);
}
inline std::uint32_t le32(std::span<const std::byte> b, std::size_t at) {
    return std::uint32_t{le16(b, at)} | std::uint32_t{le16(b, at + 2)} << 16;
}

// CRC-CCITT as SCP-ECG uses it: polynomial 0x1021, initial value 0xFFFF, no reflection.
std::uint16_t crc_ccitt(std::span<const std::byte> bytes);

// One section as found through section 0: where its ID header starts in the file and its body
// (the bytes after the 16-byte ID header).
struct Section {
    std::uint16_t id = 0;
    std::size_t offset = 0;  // file offset of the ID header
    std::size_t length = 0;  // including the ID header
    std::uint8_t section_version = 0;
    std::uint8_t protocol_version = 0;
    std::span<const std::byte> body;

    std::size_t body_offset() const { return offset + 16; }
    // "SCP section 6 (offset 3819)", the prefix of every reason about this section.
    std::string where() const;
};

// Sections 0..11 are defined by versions 1.x/2.0, 12..18 by 3.0; higher ids are manufacturer
// specific. We decode 1..7 and only bound-check the others.
inline constexpr std::size_t kDecodedSections = 8;

struct Layout {
    std::uint8_t protocol_version = 0;  // 10..13 = 1.0..1.3, 20 = 2.0, 30 = 3.0
    std::array<std::optional<Section>, kDecodedSections> sections;  // index = section id

    const Section* find(std::uint16_t id) const {
        return id < sections.size() && sections[id] ? &*sections[id] : nullptr;
    }
};

// Checks the file header (length, CRC), section 0 and the ID header, length and CRC of every
// section we decode, and that every pointer stays inside the file. See scp.cpp for which CRC
// failures are fatal.
Status read_layout(std::span<const std::byte> file, Layout& layout);

// Little-endian reads over one section's body. A read past the end returns 0 and never touches
// memory outside the span; callers check need() first so that never happens silently.
class Cursor {
  public:
    Cursor(const Section& section) : section_(section), bytes_(section.body) {}

    std::size_t remaining() const { return bytes_.size() - pos_; }
    std::size_t file_offset() const { return section_.body_offset() + pos_; }
    // A refusal naming the section, the offset and `what` when fewer than `n` bytes remain.
    Status need(std::size_t n, std::string_view what) const;

    std::uint8_t u8();
    std::uint16_t u16();
    std::int16_t i16() { return static_cast<std::int16_t>(u16()); }
    std::uint32_t u32();
    std::span<const std::byte> take(std::size_t n);
    void skip(std::size_t n) { pos_ += std::min(n, remaining()); }

  private:
    std::uint32_t little_endian(std::size_t n);

    const Section& section_;
    std::span<const std::byte> bytes_;
    std::size_t pos_ = 0;
};

// Section 1: patient and acquisition tags into the waveform's identifying fields.
Status read_patient_section(const Section& section, Waveform& waveform);

// Section 2: Huffman tables. A code either yields a value (its base value, or, when it has
// more bits than its prefix, the following bits as a signed number) or switches tables.
struct HuffmanCode {
    std::uint8_t prefix_bits = 0;
    std::uint8_t total_bits = 0;
    bool switches_table = false;  // "table mode switch" 0: go to table `value` (1-based)
    std::int16_t value = 0;
    std::uint32_t code = 0;  // first bit of the code in bit 0, as the standard stores it
};
// A binary decoding tree per table: node 0 is the root; `code` >= 0 marks a leaf.
struct HuffmanNode {
    std::array<std::int32_t, 2> next = {-1, -1};
    std::int32_t code = -1;
};
struct HuffmanTables {
    std::vector<std::vector<HuffmanCode>> tables;
    std::vector<std::vector<HuffmanNode>> trees;  // built and checked by the readers below
};
// The standard's default table (section 2 says 19999), used when section 2 asks for it.
HuffmanTables default_huffman_tables();
Status read_huffman_section(const Section& section, HuffmanTables& tables);

// Decodes `count` values from one lead's bit stream, starting in table 1. A stream that ends
// before `count` values, or a bit pattern no code matches, is refused; `what` names the lead.
Status huffman_decode(const HuffmanTables& tables, std::span<const std::byte> data,
                      std::size_t count, std::vector<std::int64_t>& out, const std::string& what);

// Section 3: lead definitions. Sample numbers are 1-based and inclusive.
struct LeadDefinition {
    std::uint32_t start = 0;
    std::uint32_t end = 0;
    std::uint8_t id = 0;
    std::size_t samples() const { return std::size_t{end} - start + 1; }
};
struct LeadSection {
    std::vector<LeadDefinition> leads;
    bool reference_beat_subtracted = false;
    bool all_simultaneous = false;
    std::uint8_t simultaneous = 0;
};
Status read_lead_section(const Section& section, LeadSection& leads);

// SCP lead code -> name: the twelve standard leads by their standard_lead_name() spelling,
// others by the standard's own name ("V4R", "X", "CM5"), "lead <n>" for unknown codes.
std::string lead_name(std::uint8_t id);
// Whether `id` is one of the "derived" codes (dI, dIII, daVR ...), which carry the name of the
// lead they stand for.
bool derived_lead(std::uint8_t id);

// Section 4: reference beat fiducial, QRS subtraction zones and protected zones.
struct BeatZone {
    std::uint16_t type = 0;  // 0 = reference beat 0 was subtracted here
    std::uint32_t start = 0, fiducial = 0, end = 0;
};
struct ProtectedZone {
    std::uint32_t start = 0, end = 0;
};
struct QrsSection {
    std::uint16_t reference_length_ms = 0;
    std::uint16_t reference_fiducial = 0;  // 1-based sample of the fiducial in reference beat 0
    std::vector<BeatZone> beats;
    std::vector<ProtectedZone> protected_zones;  // from the subtraction zones when absent (1.0/1.1)
};
// Checks the zones the file uses (subtraction zones when `subtracted`, protected zones when
// `bimodal`) are in order and do not overlap.
Status read_qrs_section(const Section& section, bool subtracted, bool bimodal, QrsSection& qrs);

// Sections 5 and 6: encoded lead data and how to read it.
struct EncodedLeads {
    std::uint16_t avm_nv = 0;       // amplitude value multiplier, nanovolts per unit
    std::uint16_t interval_us = 0;  // sample time interval
    std::uint8_t difference = 0;    // 0 none, 1 first differences, 2 second differences
    std::uint8_t bimodal = 0;       // section 6 only
    std::vector<std::span<const std::byte>> data;  // one per lead
    std::vector<std::size_t> data_offsets;         // file offset of each lead's data
};
Status read_encoded_section(const Section& section, std::size_t lead_count, EncodedLeads& out);

// Section 7: global measurements into named values (intervals from reference beat 0, axes,
// rates). Tolerant: what the section holds is taken, a short section just yields fewer.
void read_measurement_section(const Section& section, std::vector<Measurement>& out);

}  // namespace countylink::codecs::ecg::scp

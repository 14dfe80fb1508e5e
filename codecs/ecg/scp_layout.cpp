// The SCP-ECG container: file header, section 0 pointer table, section ID headers and CRCs.
#include <algorithm>
#include <cstdio>

#include "codecs/ecg/scp_sections.hpp"

namespace countylink::codecs::ecg::scp {
namespace {

std::string hex16(std::uint16_t v) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%04X", static_cast<unsigned>(v));
    return text;
}

std::string crc_mismatch(std::uint16_t stored, std::uint16_t computed) {
    return "CRC mismatch (stored " + hex16(stored) + ", computed " + hex16(computed) + ")";
}

// 1.0..1.3, 2.0 and 3.0 (and the 2.x/3.0 drafts between them).
bool known_protocol(std::uint8_t version) {
    return version >= 10 && version <= 30;
}

}  // namespace

Refusal malformed(std::string reason) {
    return Refusal{ErrorKind::malformed, std::move(reason)};
}

std::uint16_t crc_ccitt(std::span<const std::byte> bytes) {
    std::uint16_t crc = 0xFFFF;
    for (std::byte b : bytes) {
        crc ^= static_cast<std::uint16_t>(std::to_integer<unsigned>(b) << 8);
        for (int bit = 0; bit < 8; ++bit)
            crc = static_cast<std::uint16_t>(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

std::string Section::where() const {
    return "SCP section " + std::to_string(id) + " (offset " + std::to_string(offset) + ")";
}

Status Cursor::need(std::size_t n, std::string_view what) const {
    if (n <= remaining()) return std::nullopt;
    return malformed(section_.where() + ": " + std::string(what) + " at offset " +
                     std::to_string(file_offset()) + " needs " + std::to_string(n) +
                     " bytes, only " + std::to_string(remaining()) + " left in the section");
}

std::uint8_t Cursor::u8() {
    if (remaining() < 1) return 0;
    return std::to_integer<std::uint8_t>(bytes_[pos_++]);
}

std::uint16_t Cursor::u16() {
    return static_cast<std::uint16_t>(little_endian(2));
}

std::uint32_t Cursor::u32() {
    return little_endian(4);
}

std::uint32_t Cursor::little_endian(std::size_t n) {
    if (remaining() < n) {
        pos_ = bytes_.size();
        return 0;
    }
    auto v = n == 2 ? le16(bytes_, pos_) : le32(bytes_, pos_);
    pos_ += n;
    return v;
}

std::span<const std::byte> Cursor::take(std::size_t n) {
    n = std::min(n, remaining());
    auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
}

// Which CRC failures are fatal: all we can see. The file CRC covers every byte, and each
// section we decode (0..7) has its own; a mismatch in either means the bytes are not what the
// cart wrote, and an ECG read from altered bytes is worse than a redo. Section CRCs are checked
// first so the reason names the damaged section; the file CRC then catches damage anywhere else
// (the file header, sections 8 and up, gaps between sections).
Status read_layout(std::span<const std::byte> file, Layout& layout) {
    const std::size_t size = file.size();
    if (size < 6 + 16)
        return malformed("SCP file: " + std::to_string(size) +
                         " bytes, too short for the file header and section 0");
    const std::uint32_t declared = le32(file, 2);
    if (declared != size)
        return malformed("SCP file header (offset 2): declares " + std::to_string(declared) +
                         " bytes but the file has " + std::to_string(size));

    // Section 0 starts right after the 6-byte file header.
    Section zero;
    zero.offset = 6;
    zero.id = le16(file, 8);
    zero.length = le32(file, 10);
    if (zero.id != 0)
        return malformed("SCP section 0 (offset 6): ID header names section " +
                         std::to_string(zero.id) + ", expected 0");
    if (zero.length < 16 || zero.length > size - zero.offset)
        return malformed("SCP section 0 (offset 6): length " + std::to_string(zero.length) +
                         " does not fit the " + std::to_string(size) + "-byte file");
    if (auto stored = le16(file, 6),
        computed = crc_ccitt(file.subspan(zero.offset + 2, zero.length - 2));
        stored != computed)
        return malformed(zero.where() + ": " + crc_mismatch(stored, computed));
    zero.section_version = std::to_integer<std::uint8_t>(file[14]);
    zero.protocol_version = std::to_integer<std::uint8_t>(file[15]);
    zero.body = file.subspan(zero.offset + 16, zero.length - 16);
    if (!known_protocol(zero.protocol_version))
        return Refusal{ErrorKind::unsupported, zero.where() + ": protocol version byte " +
                                                   std::to_string(zero.protocol_version) +
                                                   " is not SCP-ECG 1.0-3.0 (10-13, 20, 30)"};
    layout.protocol_version = zero.protocol_version;
    layout.sections[0] = zero;

    // Pointer table: id(2) length(4) index(4, 1-based file position) per section.
    Cursor pointers(zero);
    while (pointers.remaining() >= 10) {
        const std::size_t entry_offset = pointers.file_offset();
        const std::uint16_t id = pointers.u16();
        const std::uint32_t length = pointers.u32();
        const std::uint32_t index = pointers.u32();
        if (length == 0) continue;  // section absent
        const std::string entry = zero.where() + ": pointer at offset " +
                                  std::to_string(entry_offset) + " to section " +
                                  std::to_string(id);
        if (index == 0 || length < 16 || index - 1 > size || length > size - (index - 1))
            return malformed(entry + " (index " + std::to_string(index) + ", length " +
                             std::to_string(length) + ") lies outside the " + std::to_string(size) +
                             "-byte file");
        if (id == 0 || id >= kDecodedSections) continue;  // bounds are all we need from these
        if (layout.sections[id]) return malformed(entry + " lists that section a second time");

        Section s;
        s.id = id;
        s.offset = index - 1;
        s.length = length;
        const std::uint16_t header_id = le16(file, s.offset + 2);
        const std::uint32_t header_length = le32(file, s.offset + 4);
        if (header_id != id)
            return malformed(s.where() + ": ID header names section " + std::to_string(header_id));
        if (header_length != length)
            return malformed(s.where() + ": ID header gives length " +
                             std::to_string(header_length) + " but section 0 says " +
                             std::to_string(length));
        if (auto stored = le16(file, s.offset),
            computed = crc_ccitt(file.subspan(s.offset + 2, s.length - 2));
            stored != computed)
            return malformed(s.where() + ": " + crc_mismatch(stored, computed));
        s.section_version = std::to_integer<std::uint8_t>(file[s.offset + 8]);
        s.protocol_version = std::to_integer<std::uint8_t>(file[s.offset + 9]);
        s.body = file.subspan(s.offset + 16, s.length - 16);
        layout.sections[id] = s;
    }

    if (auto stored = le16(file, 0), computed = crc_ccitt(file.subspan(2)); stored != computed)
        return malformed("SCP file header (offset 0): file " + crc_mismatch(stored, computed));
    return std::nullopt;
}

}  // namespace countylink::codecs::ecg::scp

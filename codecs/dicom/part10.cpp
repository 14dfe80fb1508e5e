#include "codecs/dicom/part10.hpp"

#include <cstring>
#include <fstream>

namespace countylink::codecs::dicom {
namespace {

void put_u16(std::vector<std::byte>& out, uint16_t v) {
    out.push_back(std::byte(v & 0xff));
    out.push_back(std::byte(v >> 8));
}

void put_u32(std::vector<std::byte>& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(std::byte((v >> (8 * i)) & 0xff));
}

// Short-form explicit VR element (UI, SH, UL, AE): tag, VR, 2-byte length, value padded even.
void put_short(std::vector<std::byte>& out, uint16_t element, const char vr[2],
               std::string_view value, char pad) {
    put_u16(out, 0x0002);
    put_u16(out, element);
    out.push_back(std::byte(vr[0]));
    out.push_back(std::byte(vr[1]));
    const std::size_t len = value.size() + (value.size() % 2);
    put_u16(out, static_cast<uint16_t>(len));
    for (char c : value) out.push_back(std::byte(c));
    if (value.size() % 2) out.push_back(std::byte(pad));
}

uint32_t get_u32(const std::byte* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

std::vector<std::byte> encode_part10_header(const MetaInfo& meta) {
    std::vector<std::byte> group;
    // (0002,0001) File Meta Information Version: OB, 4-byte length form.
    put_u16(group, 0x0002);
    put_u16(group, 0x0001);
    group.push_back(std::byte('O'));
    group.push_back(std::byte('B'));
    put_u16(group, 0);
    put_u32(group, 2);
    group.push_back(std::byte(0x00));
    group.push_back(std::byte(0x01));
    put_short(group, 0x0002, "UI", meta.sop_class_uid, '\0');
    put_short(group, 0x0003, "UI", meta.sop_instance_uid, '\0');
    put_short(group, 0x0010, "UI", meta.transfer_syntax_uid, '\0');
    put_short(group, 0x0012, "UI", kImplementationClassUid, '\0');
    put_short(group, 0x0013, "SH", kImplementationVersionName, ' ');

    std::vector<std::byte> out(128, std::byte{0});
    for (char c : std::string_view("DICM")) out.push_back(std::byte(c));
    put_u16(out, 0x0002);
    put_u16(out, 0x0000);
    out.push_back(std::byte('U'));
    out.push_back(std::byte('L'));
    put_u16(out, 4);
    put_u32(out, static_cast<uint32_t>(group.size()));
    out.insert(out.end(), group.begin(), group.end());
    return out;
}

std::optional<std::size_t> dataset_offset(std::span<const std::byte> head) {
    constexpr std::size_t kGroupLengthEnd = 132 + 12;
    if (head.size() < kGroupLengthEnd) return std::nullopt;
    if (std::memcmp(head.data() + 128, "DICM", 4) != 0) return std::nullopt;
    const std::byte* el = head.data() + 132;
    // (0002,0000) UL, explicit VR little endian.
    const bool is_group_length = el[0] == std::byte{0x02} && el[1] == std::byte{0x00} &&
                                 el[2] == std::byte{0x00} && el[3] == std::byte{0x00} &&
                                 el[4] == std::byte{'U'} && el[5] == std::byte{'L'};
    if (!is_group_length) return std::nullopt;
    const std::size_t end = kGroupLengthEnd + get_u32(el + 8);
    if (end > head.size()) return std::nullopt;
    return end;
}

}  // namespace countylink::codecs::dicom

namespace countylink::codecs::dicom {

std::optional<Part10Start> read_part10_start(std::span<const std::byte> head) {
    if (head.size() < 132 || std::memcmp(head.data() + 128, "DICM", 4) != 0) return std::nullopt;
    Part10Start out;
    std::size_t pos = 132;
    auto u16 = [&](std::size_t at) {
        return static_cast<uint16_t>(uint16_t(head[at]) | uint16_t(head[at + 1]) << 8);
    };
    while (pos + 8 <= head.size() && u16(pos) == 0x0002) {
        const uint16_t element = u16(pos + 2);
        const char vr[2] = {static_cast<char>(head[pos + 4]), static_cast<char>(head[pos + 5])};
        const std::string_view v(vr, 2);
        const bool long_form = v == "OB" || v == "OW" || v == "OF" || v == "SQ" || v == "UT" ||
                               v == "UN" || v == "UC" || v == "UR" || v == "OD" || v == "OL" ||
                               v == "OV";
        std::size_t header = 8;
        uint32_t length = u16(pos + 6);
        if (long_form) {
            if (pos + 12 > head.size()) return std::nullopt;
            length = get_u32(head.data() + pos + 8);
            header = 12;
        }
        if (pos + header + length > head.size()) return std::nullopt;
        std::string value(reinterpret_cast<const char*>(head.data() + pos + header), length);
        while (!value.empty() && (value.back() == '\0' || value.back() == ' ')) value.pop_back();
        if (element == 0x0002) out.meta.sop_class_uid = value;
        if (element == 0x0003) out.meta.sop_instance_uid = value;
        if (element == 0x0010) out.meta.transfer_syntax_uid = value;
        pos += header + length;
    }
    if (out.meta.transfer_syntax_uid.empty()) return std::nullopt;
    out.dataset_offset = pos;
    return out;
}

}  // namespace countylink::codecs::dicom

namespace countylink::codecs::dicom {

std::optional<compress::SampleRange> locate_samples(const std::filesystem::path& path,
                                                    const SampleHint& hint) {
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec || hint.length == 0 || hint.length > size) return std::nullopt;
    // The header (tag, VR, length: at most 12 bytes) ends where the value starts; the value
    // may be followed by trailing elements, so look back up to 64 KiB before the last place
    // the value could start.
    constexpr uint64_t kWindow = 64 * 1024 + 12;
    const uint64_t last_start = size - hint.length;
    const uint64_t from = last_start > kWindow ? last_start - kWindow : 0;
    std::vector<std::byte> window(static_cast<std::size_t>(last_start - from));
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(from));
    in.read(reinterpret_cast<char*>(window.data()), static_cast<std::streamsize>(window.size()));
    if (in.gcount() != static_cast<std::streamsize>(window.size())) return std::nullopt;

    const auto le = [&](std::size_t at, int bytes) {
        uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(window[at + i]) << (8 * i);
        return v;
    };
    for (std::size_t p = window.size() >= 8 ? window.size() - 8 : 0; p-- > 0;) {
        if (le(p, 2) != hint.group || le(p + 2, 2) != hint.element) continue;
        std::size_t value = 0;
        if (p + 12 <= window.size() && (window[p + 4] == std::byte{'O'}) && le(p + 6, 2) == 0 &&
            le(p + 8, 4) == hint.length) {
            value = p + 12;  // explicit VR: OW/OB, two reserved bytes, 32-bit length
        } else if (le(p + 4, 4) == hint.length) {
            value = p + 8;  // implicit VR: 32-bit length
        } else {
            continue;
        }
        compress::SampleRange range;
        range.offset = from + value;
        range.length = hint.length;
        range.stride = hint.stride;
        return range;
    }
    return std::nullopt;
}

}  // namespace countylink::codecs::dicom

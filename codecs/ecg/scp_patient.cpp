// SCP-ECG section 1: patient and acquisition tags (tag(1) length(2) value, ended by tag 255).
#include <array>
#include <cstdio>

#include "codecs/ecg/scp_sections.hpp"

namespace countylink::codecs::ecg::scp {
namespace {

// Section 1 text is 8-bit (ASCII or an ISO 8859 part, per tag 14's language code): keep it
// readable as UTF-8 by treating it as Latin-1, up to the first NUL, without control characters.
std::string text(std::span<const std::byte> value) {
    std::string out;
    for (std::byte b : value) {
        auto c = std::to_integer<unsigned char>(b);
        if (c == 0) break;
        if (c < 0x20 || c == 0x7F) continue;
        if (c < 0x80) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back(static_cast<char>(0xC0 | c >> 6));
            out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    while (!out.empty() && out.front() == ' ') out.erase(0, 1);
    return out;
}

// Date tags (5, 25): year(2) month(1) day(1). Empty when absent or impossible.
std::string date(std::span<const std::byte> v) {
    if (v.size() < 4) return {};
    unsigned year = le16(v, 0), month = std::to_integer<unsigned>(v[2]),
             day = std::to_integer<unsigned>(v[3]);
    if (year == 0 || month < 1 || month > 12 || day < 1 || day > 31) return {};
    char out[16];
    std::snprintf(out, sizeof out, "%04u-%02u-%02u", year, month, day);
    return out;
}

// Time tag (26): hour(1) minute(1) second(1).
std::string time_of_day(std::span<const std::byte> v) {
    if (v.size() < 3) return {};
    unsigned h = std::to_integer<unsigned>(v[0]), m = std::to_integer<unsigned>(v[1]),
             s = std::to_integer<unsigned>(v[2]);
    if (h > 23 || m > 59 || s > 60) return {};
    char out[16];
    std::snprintf(out, sizeof out, "%02u:%02u:%02u", h, m, s);
    return out;
}

// Manufacturer codes of tag 14 (EN 1064 table); 255 means "see the string at the end".
std::string manufacturer_name(unsigned code) {
    static constexpr std::array<std::string_view, 21> names = {"",
                                                               "Burdick",
                                                               "Cambridge",
                                                               "Compumed",
                                                               "Datamed",
                                                               "Fukuda",
                                                               "Hewlett-Packard",
                                                               "Marquette Electronics",
                                                               "Mortara Instrument",
                                                               "Nihon Kohden",
                                                               "Okin",
                                                               "Quinton",
                                                               "Siemens",
                                                               "Spacelabs",
                                                               "Telemed",
                                                               "Hellige",
                                                               "ESA-OTE",
                                                               "Schiller",
                                                               "Picker-Schwarzer",
                                                               "Elettronic-Trentina",
                                                               "Zwönitz"};
    if (code < names.size()) return std::string(names[code]);
    return {};
}

// Tag 14, acquiring device: institution(2) department(2) device id(2) type(1)
// manufacturer(1) model(6) protocol revision(1) compatibility(1) language(1) capabilities(1)
// mains frequency(1) reserved(16) revision length(1) then NUL-terminated strings: analysing
// program revision, serial number, system software, SCP implementation, manufacturer.
void device(std::span<const std::byte> v, Waveform& w) {
    if (v.size() < 14) return;
    w.device_model = text(v.subspan(8, 6));
    std::string maker = manufacturer_name(std::to_integer<unsigned>(v[7]));
    if (v.size() > 36) {
        std::size_t at = 36 + std::to_integer<unsigned>(v[35]);  // skip the revision string
        std::string last;
        for (int field = 0; field < 4 && at < v.size(); ++field) {
            std::size_t end = at;
            while (end < v.size() && v[end] != std::byte{0}) ++end;
            last = text(v.subspan(at, end - at));
            at = end + 1;
        }
        if (!last.empty()) maker = last;  // the manufacturer's own spelling wins
    }
    w.device_manufacturer = maker;
}

}  // namespace

Status read_patient_section(const Section& section, Waveform& w) {
    Cursor c(section);
    std::string last_name, first_name, acquisition_date, acquisition_time;
    while (c.remaining() >= 3) {
        const std::size_t tag_offset = c.file_offset();
        const std::uint8_t tag = c.u8();
        const std::uint16_t length = c.u16();
        if (tag == 255) break;
        if (length > c.remaining())
            return malformed(section.where() + ": tag " + std::to_string(tag) + " at offset " +
                             std::to_string(tag_offset) + " declares " + std::to_string(length) +
                             " bytes, only " + std::to_string(c.remaining()) +
                             " left in the section");
        auto value = c.take(length);
        switch (tag) {
            case 0:
                last_name = text(value);
                break;
            case 1:
                first_name = text(value);
                break;
            case 2:
                w.patient_id = text(value);
                break;
            case 5:
                w.patient_birth_date = date(value);
                break;
            case 8:
                if (!value.empty()) {
                    auto sex = std::to_integer<unsigned>(value[0]);
                    w.patient_sex = sex == 1 ? "M" : sex == 2 ? "F" : sex == 9 ? "U" : "";
                }
                break;
            case 14:
                device(value, w);
                break;
            case 25:
                acquisition_date = date(value);
                break;
            case 26:
                acquisition_time = time_of_day(value);
                break;
            default:
                break;  // the other tags (clinical text, filters, sites) are not in the model
        }
    }
    // DICOM's person-name convention, which the DICOM converter downstream also uses.
    w.patient_name = first_name.empty() ? last_name : last_name + "^" + first_name;
    // ISO 8601; a date without a time stays a date rather than gaining a made-up midnight.
    w.acquisition_time = acquisition_date;
    if (!acquisition_date.empty() && !acquisition_time.empty())
        w.acquisition_time += "T" + acquisition_time;
    return std::nullopt;
}

}  // namespace countylink::codecs::ecg::scp

#include "codecs/ecg/read.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace countylink::codecs::ecg {
namespace {

bool starts_with(std::span<const std::byte> b, std::size_t at, std::string_view text) {
    return b.size() >= at + text.size() &&
           std::memcmp(b.data() + at, text.data(), text.size()) == 0;
}

// The first kilobytes as ASCII: UTF-16 files lose their zero bytes, which is enough to find the
// root element's name.
std::string ascii_head(std::span<const std::byte> b) {
    std::string out;
    for (std::size_t i = 0; i < b.size() && out.size() < 8192; ++i) {
        auto c = static_cast<unsigned char>(b[i]);
        if (c != 0 && c < 0x80) out.push_back(static_cast<char>(c));
    }
    return out;
}

// Local name of the first element that is not a declaration, comment or doctype. Comments,
// processing instructions and a DOCTYPE's internal subset are skipped whole, so a '<' inside them
// is not taken for the root.
std::string xml_root_name(const std::string& text) {
    std::size_t p = 0;
    while ((p = text.find('<', p)) != std::string::npos) {
        if (p + 1 >= text.size()) break;
        std::string_view rest = std::string_view(text).substr(p);
        std::size_t skip_to = std::string::npos;
        if (rest.starts_with("<!--")) {
            skip_to = text.find("-->", p + 4);
        } else if (rest.starts_with("<?")) {
            skip_to = text.find("?>", p + 2);
        } else if (rest.starts_with("<!")) {
            // <!DOCTYPE name ... [ internal subset ]>: the subset's own '<' and '>' are inside.
            std::size_t bracket = text.find('[', p), close = text.find('>', p);
            if (bracket != std::string::npos && bracket < close) {
                std::size_t end = text.find(']', bracket);
                skip_to = end == std::string::npos ? end : text.find('>', end);
            } else {
                skip_to = close;
            }
        }
        if (rest.starts_with("<!") || rest.starts_with("<?")) {
            if (skip_to == std::string::npos) break;
            p = skip_to + 1;
            continue;
        }
        std::size_t end = text.find_first_of(" \t\r\n/>", p + 1);
        std::string name =
            text.substr(p + 1, end == std::string::npos ? std::string::npos : end - p - 1);
        if (auto colon = name.find(':'); colon != std::string::npos) name.erase(0, colon + 1);
        return name;
    }
    return {};
}

std::uint32_t le32(std::span<const std::byte> b, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 4; i-- > 0;) v = v << 8 | std::to_integer<std::uint32_t>(b[at + i]);
    return v;
}

// SCP-ECG 1.x writers need not put "SCPECG" in section 0's header: recognise the structure
// instead. Section 0's ID header (id 0, a protocol version 10..30 = 1.0..3.0) follows the 6-byte
// file header, and its first pointer is to section 0 itself with the same length.
bool scp_structure(std::span<const std::byte> b) {
    if (b.size() < 32) return false;
    const auto protocol = std::to_integer<unsigned>(b[15]);
    return (le32(b, 8) & 0xFFFF) == 0 && protocol >= 10 && protocol <= 30 &&
           (le32(b, 22) & 0xFFFF) == 0 && le32(b, 24) == le32(b, 10) && le32(b, 10) >= 16;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

}  // namespace

std::optional<Format> sniff(std::span<const std::byte> bytes, std::string_view content_type) {
    std::string type = lower(content_type.substr(0, content_type.find(';')));
    if (type == "application/dicom") return Format::dicom;
    if (type == "application/x-scp-ecg" || type == "application/scp-ecg") return Format::scp_ecg;
    if (type == "application/hl7-v3+xml" || type == "application/x-hl7-aecg+xml")
        return Format::hl7_aecg;
    if (type == "application/edf" || type == "application/x-edf") return Format::edf;

    if (starts_with(bytes, 128, "DICM")) return Format::dicom;
    // SCP-ECG: CRC(2) length(4), then section 0's header: CRC(2) id(2)=0 length(4) versions(2)
    // reserved(6) = "SCPECG".
    if (starts_with(bytes, 16, "SCPECG") && bytes.size() > 8 && bytes[8] == std::byte{0} &&
        bytes[9] == std::byte{0})
        return Format::scp_ecg;
    if (scp_structure(bytes)) return Format::scp_ecg;
    // EDF: version "0" padded to 8 bytes, then ASCII header fields.
    if (starts_with(bytes, 0, "0       ") && bytes.size() >= 256) return Format::edf;
    std::string root = xml_root_name(ascii_head(bytes));
    if (root == "AnnotatedECG") return Format::hl7_aecg;
    if (root == "restingecgdata") return Format::philips_sierra;
    if (root == "RestingECG") return Format::ge_muse;
    return std::nullopt;
}

ParseResult read_ecg(std::span<const std::byte> bytes, std::string_view content_type) {
    auto format = sniff(bytes, content_type);
    if (!format)
        return ParseResult::fail(ErrorKind::unknown_format,
                                 "not a supported ECG format (DICOM waveform, HL7 aECG, SCP-ECG, "
                                 "Philips Sierra XML, GE MUSE XML, EDF)");
    switch (*format) {
        case Format::dicom:
            return read_dicom_ecg(bytes);
        case Format::hl7_aecg:
            return read_aecg(bytes);
        case Format::scp_ecg:
            return read_scp(bytes);
        case Format::philips_sierra:
            return read_sierra(bytes);
        case Format::ge_muse:
            return read_muse(bytes);
        case Format::edf:
            return read_edf(bytes);
        case Format::wfdb:
            break;
    }
    return ParseResult::fail(ErrorKind::unknown_format,
                             "WFDB records need their .hea and .dat files");
}

}  // namespace countylink::codecs::ecg

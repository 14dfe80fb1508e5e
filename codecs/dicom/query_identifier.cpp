#include "codecs/dicom/query_identifier.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dctag.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "codecs/dicom/dataset_bytes.hpp"
#include "codecs/dicom/dataset_reader.hpp"
#include "codecs/dicom/text_decoder.hpp"

namespace countylink::codecs::dicom {
namespace {

constexpr uint32_t kSpecificCharacterSet = 0x00080005;
constexpr std::size_t kMaxKeys = 512;

DcmTagKey key_of(uint32_t tag) {
    return DcmTagKey(static_cast<Uint16>(tag >> 16), static_cast<Uint16>(tag & 0xFFFF));
}

bool is_text_vr(std::string_view vr) {
    static constexpr std::string_view kText[] = {"AE", "AS", "CS", "DA", "DS", "DT",
                                                 "IS", "LO", "LT", "PN", "SH", "ST",
                                                 "TM", "UC", "UI", "UR", "UT"};
    return std::find(std::begin(kText), std::end(kText), vr) != std::end(kText);
}

// VRs whose values may be in a character set other than ASCII (PS3.5 6.1.2.3).
bool is_character_set_vr(std::string_view vr) {
    return vr == "LO" || vr == "LT" || vr == "PN" || vr == "SH" || vr == "ST" || vr == "UC" ||
           vr == "UT";
}

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// No DICOM string value holds control characters, but text (LT, ST, UT) may break lines and
// tab (PS3.5 6.1.3); ESC only introduces ISO 2022 escapes, gone after conversion to UTF-8.
bool has_control_characters(std::string_view s, bool text) {
    return std::any_of(s.begin(), s.end(), [text](char c) {
        const auto u = static_cast<unsigned char>(c);
        if (text && (u == '\r' || u == '\n' || u == '\t' || u == '\f')) return false;
        return u < 0x20 || u == 0x7F;
    });
}

}  // namespace

const QueryKey* QueryIdentifier::find(uint32_t tag) const {
    const auto it =
        std::find_if(keys.begin(), keys.end(), [tag](const QueryKey& k) { return k.tag == tag; });
    return it == keys.end() ? nullptr : &*it;
}

QueryIdentifier parse_query_identifier(std::span<const std::byte> bytes,
                                       std::string_view transfer_syntax) {
    QueryIdentifier out;
    if (!is_request_transfer_syntax(transfer_syntax)) {
        out.error = "transfer syntax " + std::string(transfer_syntax) + " not supported";
        return out;
    }
    DatasetReader reader(bytes, is_explicit_vr_syntax(transfer_syntax));
    std::optional<TextDecoder> to_utf8;  // from (0008,0005), which comes first
    std::string charset;
    out.error = reader.read([&](const DatasetReader::Element& h) {
        if (out.keys.size() == kMaxKeys) return reader.fail("more than 512 keys");
        QueryKey key;
        key.tag = h.tag;
        if (reader.explicit_vr()) {
            key.vr = std::string(h.vr_name());
        } else {
            key.vr = DcmVR(DcmTag(key_of(h.tag)).getEVR()).getVRName();
        }
        key.matchable = is_text_vr(key.vr) && !h.undefined();
        if (!key.matchable) {
            reader.skip(h);
        } else {
            key.value = reader.text(h);
            if (h.tag == kSpecificCharacterSet) {
                charset = key.value;
            } else if (is_character_set_vr(key.vr)) {  // ISO 2022 escapes are 7-bit too
                // The same conversion as the index's, so stored and asked names compare.
                if (!to_utf8) to_utf8.emplace(charset);
                key.value = to_utf8->to_utf8(key.value, key.vr, key.vr == "PN");
                std::vector<Finding> findings;
                to_utf8->add_findings(findings);
                for (const auto& f : findings) {
                    if (f.code == "character_set_not_converted") return reader.fail(f.reason);
                }
            }
            // Leading spaces are not significant either (trailing ones went in text()).
            const bool text = key.vr == "LT" || key.vr == "ST" || key.vr == "UT";
            if (!text) key.value.erase(0, key.value.find_first_not_of(' '));
            if (has_control_characters(key.value, text)) {
                char where[16];
                std::snprintf(where, sizeof where, "(%04X,%04X)", h.tag >> 16, h.tag & 0xFFFF);
                return reader.fail(std::string("the value of ") + where +
                                   " holds control characters");
            }
        }
        out.keys.push_back(std::move(key));
    });
    return out;
}

std::vector<std::byte> encode_query_response(std::vector<std::pair<uint32_t, std::string>> values,
                                             std::string_view transfer_syntax) {
    if (!is_request_transfer_syntax(transfer_syntax)) {
        throw std::invalid_argument("cannot write an identifier in " +
                                    std::string(transfer_syntax));
    }
    const bool utf8 = std::any_of(values.begin(), values.end(),
                                  [](const auto& v) { return !is_ascii(v.second); });
    std::erase_if(values, [](const auto& v) { return v.first == kSpecificCharacterSet; });
    if (utf8) values.emplace_back(kSpecificCharacterSet, "ISO_IR 192");
    DcmDataset ds;
    for (const auto& [tag, value] : values) {
        if (ds.putAndInsertString(key_of(tag), value.c_str(), static_cast<Uint32>(value.size()))
                .bad()) {
            throw std::invalid_argument("cannot write " +
                                        std::string(DcmTag(key_of(tag)).getTagName()));
        }
    }
    std::vector<std::byte> out;
    write_dataset(ds,
                  is_explicit_vr_syntax(transfer_syntax) ? EXS_LittleEndianExplicit
                                                         : EXS_LittleEndianImplicit,
                  out);
    return out;
}

}  // namespace countylink::codecs::dicom

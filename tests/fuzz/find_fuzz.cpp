// C-FIND identifiers (what a viewer or township console sends), in both syntaxes we accept:
// parsing never reads past the input, every key value can be matched against stored values
// (wildcards are linear, not exponential), and the keys we answer with survive our own response
// encoding: what a viewer gets back reads as what we meant to send.
#include <algorithm>
#include <string_view>
#include <utility>

#include "codecs/dicom/dataset_check.hpp"
#include "codecs/dicom/query_identifier.hpp"
#include "gateway/query/find.hpp"
#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {
namespace {

// What the index can hold for these attributes (ingest checks UIDs; dates and codes are
// whatever the equipment wrote, within their character repertoire).
bool valid_for_vr(const std::string& v, std::string_view vr) {
    if (vr == "UI") return codecs::dicom::is_valid_uid(v);
    if (vr == "DA")
        return std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (vr == "CS") {
        return std::all_of(v.begin(), v.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '_';
        });
    }
    return true;
}

}  // namespace

int find(std::span<const std::byte> input) {
    namespace cd = codecs::dicom;
    // Attributes the gateway answers with (find.cpp) and their VRs: a value sent under another
    // VR is checked by other rules (a TAB is fine in ST, not in DA).
    static constexpr std::pair<uint32_t, std::string_view> kAnswered[] = {
        {0x00080020, "DA"}, {0x00080050, "SH"}, {0x00080052, "CS"}, {0x00080060, "CS"},
        {0x00100010, "PN"}, {0x00100020, "LO"}, {0x0020000D, "UI"}, {0x0020000E, "UI"}};
    for (const char* syntax : {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}) {
        const auto identifier = cd::parse_query_identifier(input, syntax);
        if (!identifier.error.empty()) continue;
        query::Match answer;
        for (const auto& key : identifier.keys) {
            if (!key.matchable) continue;
            for (const char* stored : {"", "WANG^XIAOMING", "1.2.840.10008.5.1.4", "20261124"}) {
                (void)query::matches(key.value, key.vr, stored);
            }
            if (std::find(std::begin(kAnswered), std::end(kAnswered),
                          std::pair<uint32_t, std::string_view>(key.tag, key.vr)) !=
                    std::end(kAnswered) &&
                valid_for_vr(key.value, key.vr)) {
                answer.emplace_back(key.tag, key.value);
            }
        }
        const auto again =
            cd::parse_query_identifier(cd::encode_query_response(answer, syntax), syntax);
        if (!again.error.empty()) fail("our response identifier does not read back");
        for (const auto& [tag, value] : answer) {
            const auto* key = again.find(tag);
            if (!key || key->value != value) fail("a response value changed on the way");
        }
    }
    return 0;
}

}  // namespace countylink::fuzz

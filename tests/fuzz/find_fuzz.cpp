// C-FIND identifiers (what a viewer or township console sends), in both syntaxes we accept:
// parsing never reads past the input, every key value can be matched against stored values
// (wildcards are linear, not exponential), and the keys we answer with survive our own response
// encoding: what a viewer gets back reads as what we meant to send.
#include <algorithm>

#include "codecs/dicom/query_identifier.hpp"
#include "gateway/query/find.hpp"
#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {

int find(std::span<const std::byte> input) {
    namespace cd = codecs::dicom;
    // Attributes the gateway answers with (find.cpp) whose dictionary VR is text.
    static constexpr uint32_t kAnswered[] = {0x00080020, 0x00080050, 0x00080052, 0x00080060,
                                             0x00100010, 0x00100020, 0x0020000D, 0x0020000E};
    for (const char* syntax : {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}) {
        const auto identifier = cd::parse_query_identifier(input, syntax);
        if (!identifier.error.empty()) continue;
        query::Match answer;
        for (const auto& key : identifier.keys) {
            if (!key.matchable) continue;
            for (const char* stored : {"", "WANG^XIAOMING", "1.2.840.10008.5.1.4", "20261124"}) {
                (void)query::matches(key.value, key.vr, stored);
            }
            if (std::find(std::begin(kAnswered), std::end(kAnswered), key.tag) !=
                std::end(kAnswered)) {
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

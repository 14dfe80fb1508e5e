// C-FIND over the index (PS3.4 annex C): the Patient Root and Study Root information models,
// answered from what the index keeps of each instance's latest version. Pure logic over the
// Index interface; the association sends the matches. See docs/dicom.md "Query (C-FIND)".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codecs/dicom/query_identifier.hpp"
#include "gateway/query/visibility.hpp"
#include "gateway/store/index.hpp"

namespace countylink::query {

inline constexpr std::string_view kPatientRootFind = "1.2.840.10008.5.1.4.1.2.1.1";
inline constexpr std::string_view kStudyRootFind = "1.2.840.10008.5.1.4.1.2.2.1";
inline constexpr std::string_view kPatientRootMove = "1.2.840.10008.5.1.4.1.2.1.2";
inline constexpr std::string_view kStudyRootMove = "1.2.840.10008.5.1.4.1.2.2.2";
inline constexpr std::string_view kPatientRootGet = "1.2.840.10008.5.1.4.1.2.1.3";
inline constexpr std::string_view kStudyRootGet = "1.2.840.10008.5.1.4.1.2.2.3";

// Whether `sop_class` is one of the two FIND (or MOVE) models we answer.
bool is_find_sop_class(std::string_view sop_class);
bool is_move_sop_class(std::string_view sop_class);
bool is_get_sop_class(std::string_view sop_class);

// A response identifier: (tag, UTF-8 value) pairs.
using Match = std::vector<std::pair<uint32_t, std::string>>;

struct FindAnswer {
    std::vector<Match> matches;
    uint16_t status = 0;            // final status (0x0000 success, or a failure)
    std::string reason;             // for a failure: why, for the Error Comment and the log
    std::string level;              // PATIENT, STUDY, SERIES or IMAGE ("" when refused early)
    bool unsupported_keys = false;  // pending responses are 0xFF01 (PS3.4 C.4.1.1.4)
};

// Instances read from the index per query at most; beyond, the query is refused as too broad.
inline constexpr std::size_t kMaxFindInstances = 20000;

// Answers a C-FIND `identifier` in the model `sop_class` over the latest versions of the
// instances `visible` lets through. Throws only what the index throws (machine failures).
FindAnswer find(std::string_view sop_class, const codecs::dicom::QueryIdentifier& identifier,
                store::Index& index, const Visible& visible,
                std::size_t max_instances = kMaxFindInstances);

// What a C-MOVE identifier names (PS3.4 C.4.2.2.1): every stored instance (latest version)
// under the unique keys of its level and above (lists allowed), that `visible` lets through.
struct Selection {
    std::vector<store::InstanceRecord> instances;  // by study, series, instance UID
    uint16_t status = 0;  // 0, or 0xA900 (level, unique key missing) / 0xA700 (too many)
    std::string reason;
    std::string level;
};

// Selects for C-MOVE or C-GET in `sop_class` (a MOVE or GET model); at most `max_instances`,
// else refused.
Selection select_instances(std::string_view sop_class,
                           const codecs::dicom::QueryIdentifier& identifier, store::Index& index,
                           const Visible& visible, std::size_t max_instances = kMaxFindInstances);

// DICOM matching of one value (PS3.4 C.2.2.2): universal (empty), single value, wildcard
// (* and ?), UID list (UI, backslash-separated), range (DA). PN matches ignore ASCII case.
bool matches(const std::string& key_value, std::string_view vr, const std::string& value);

}  // namespace countylink::query

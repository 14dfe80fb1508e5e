#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dcmtk/config/osconfig.h"  // must precede other DCMTK headers
#include "dcmtk/dcmdata/dcitem.h"
#include "identity.hpp"
#include "options.hpp"

namespace countylink::synth {

// A coded concept (code sequence item): value, scheme designator, optional version, meaning.
struct Code {
    std::string_view value;
    std::string_view scheme;
    std::string_view meaning;
    std::string_view version = {};
};

// Fixed per-kind description: SOP class, modality, equipment and descriptions.
struct KindProfile {
    std::string_view sop_class_uid;
    std::string_view modality;
    std::string_view model;
    std::string_view station;
    std::string_view study_description;
    std::string_view series_description;
    std::string_view body_part;  // empty: not sent
};

// The profile of `kind`.
const KindProfile& profile_of(Kind kind);

// Sets string attribute `tag` (any string VR, "\"-separated for multiple values); throws
// std::runtime_error naming the tag if DCMTK refuses.
void put(DcmItem& item, const DcmTagKey& tag, const std::string& value);

// Sets US attribute `tag`; throws like put().
void put_us(DcmItem& item, const DcmTagKey& tag, Uint16 value);

// Sets UL attribute `tag`; throws like put().
void put_ul(DcmItem& item, const DcmTagKey& tag, Uint32 value);

// Sets SS attribute `tag`; throws like put().
void put_ss(DcmItem& item, const DcmTagKey& tag, Sint16 value);

// Sets SL attribute `tag`; throws like put().
void put_sl(DcmItem& item, const DcmTagKey& tag, Sint32 value);

// Sets FD attribute `tag`; throws like put().
void put_fd(DcmItem& item, const DcmTagKey& tag, Float64 value);

// Adds an empty (zero-length) attribute, e.g. a Type 2 sequence; throws like put().
void put_empty(DcmItem& item, const DcmTagKey& tag);

// Appends a new item to sequence `sequence` of `item` (creating the sequence) and returns it;
// the item stays owned by the dataset.
DcmItem& append_item(DcmItem& item, const DcmTagKey& sequence);

// Appends one code item to sequence `sequence`.
void put_code(DcmItem& item, const DcmTagKey& sequence, const Code& code);

// Writes the attributes every kind shares: Patient, General Study, Patient Study, General
// Series, General Equipment, SOP Common, InstanceNumber and ContentDate/Time (`content_seconds`
// after midnight).
void put_common(DcmItem& dataset, const StudyIdentity& study, const ObjectSlot& slot,
                const KindProfile& profile, const std::string& sop_instance_uid,
                std::uint64_t content_seconds);

// Formats a decimal string value (DS) with up to `decimals` decimals and no trailing zeros.
std::string ds(double value, int decimals = 6);

}  // namespace countylink::synth

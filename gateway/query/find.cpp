#include "gateway/query/find.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace countylink::query {
namespace {

enum class Level { patient, study, series, image };

// Attributes we answer for, with the level they belong to (Patient Root; in Study Root the
// patient's attributes are part of the study level).
enum class Source {
    patient_name,
    patient_id,
    study_uid,
    study_date,
    accession,
    series_uid,
    modality,
    sop_uid,
    sop_class,
    availability,
    study_time,
    study_description,
    study_id,
    birth_date,
    sex,
    series_number,
    series_description,
    body_part,
    instance_number,
    // Computed over the entity's instances; answered at their own level only.
    modalities_in_study,
    patient_studies,
    patient_series,
    patient_instances,
    study_series,
    study_instances,
    series_instances
};

struct Attribute {
    uint32_t tag;
    Level level;
    Source source;
};

constexpr uint32_t kQueryRetrieveLevel = 0x00080052;
constexpr uint32_t kSpecificCharacterSet = 0x00080005;

constexpr Attribute kAttributes[] = {
    {0x00080016, Level::image, Source::sop_class},
    {0x00080018, Level::image, Source::sop_uid},
    {0x00080020, Level::study, Source::study_date},
    {0x00080030, Level::study, Source::study_time},
    {0x00080050, Level::study, Source::accession},
    {0x00080056, Level::patient, Source::availability},
    {0x00080060, Level::series, Source::modality},
    {0x00080061, Level::study, Source::modalities_in_study},
    {0x00081030, Level::study, Source::study_description},
    {0x0008103E, Level::series, Source::series_description},
    {0x00100010, Level::patient, Source::patient_name},
    {0x00100020, Level::patient, Source::patient_id},
    {0x00100030, Level::patient, Source::birth_date},
    {0x00100040, Level::patient, Source::sex},
    {0x00180015, Level::series, Source::body_part},
    {0x0020000D, Level::study, Source::study_uid},
    {0x0020000E, Level::series, Source::series_uid},
    {0x00200010, Level::study, Source::study_id},
    {0x00200011, Level::series, Source::series_number},
    {0x00200013, Level::image, Source::instance_number},
    {0x00201200, Level::patient, Source::patient_studies},
    {0x00201202, Level::patient, Source::patient_series},
    {0x00201204, Level::patient, Source::patient_instances},
    {0x00201206, Level::study, Source::study_series},
    {0x00201208, Level::study, Source::study_instances},
    {0x00201209, Level::series, Source::series_instances},
};

bool computed(Source s) {
    return s >= Source::modalities_in_study;
}

const Attribute* attribute(uint32_t tag) {
    for (const auto& a : kAttributes) {
        if (a.tag == tag) return &a;
    }
    return nullptr;
}

// The attribute's level in `model`: Study Root has no patient level.
Level level_in(const Attribute& a, bool study_root) {
    if (study_root && a.level == Level::patient && !computed(a.source)) return Level::study;
    return a.level;
}

// Whether `a` can be answered at `level`: attributes of this level and those above it; the
// computed ones only at their own level.
bool answerable(const Attribute& a, Level level, bool study_root) {
    const Level own = level_in(a, study_root);
    if (computed(a.source)) return own == level;
    return own <= level;
}

// One patient, study, series or instance, built from the instance rows under it.
struct Entity {
    const store::InstanceRecord* first = nullptr;
    std::set<std::string> modalities, studies, series;
    std::size_t instances = 0;
};

std::string value_of(Source s, const Entity& e) {
    const store::InstanceRecord& r = *e.first;
    switch (s) {
        case Source::patient_name:
            return r.patient_name;
        case Source::patient_id:
            return r.patient_id;
        case Source::study_uid:
            return r.study_instance_uid;
        case Source::study_date:
            return r.study_date;
        case Source::accession:
            return r.accession_number;
        case Source::series_uid:
            return r.series_instance_uid;
        case Source::modality:
            return r.modality;
        case Source::sop_uid:
            return r.sop_instance_uid;
        case Source::sop_class:
            return r.sop_class_uid;
        case Source::availability:
            return "ONLINE";
        case Source::study_time:
            return r.study_time;
        case Source::study_description:
            return r.study_description;
        case Source::study_id:
            return r.study_id;
        case Source::birth_date:
            return r.patient_birth_date;
        case Source::sex:
            return r.patient_sex;
        case Source::series_number:
            return r.series_number;
        case Source::series_description:
            return r.series_description;
        case Source::body_part:
            return r.body_part;
        case Source::instance_number:
            return r.instance_number;
        case Source::modalities_in_study: {
            std::string out;
            for (const auto& m : e.modalities) out += (out.empty() ? "" : "\\") + m;
            return out;
        }
        case Source::patient_studies:
            return std::to_string(e.studies.size());
        case Source::patient_series:
        case Source::study_series:
            return std::to_string(e.series.size());
        case Source::patient_instances:
        case Source::study_instances:
        case Source::series_instances:
            return std::to_string(e.instances);
    }
    return {};
}

std::vector<std::string> split(const std::string& s, char by) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const auto at = s.find(by, start);
        out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
        if (at == std::string::npos) return out;
        start = at + 1;
    }
}

bool has_wildcard(std::string_view s) {
    return s.find_first_of("*?") != std::string_view::npos;
}

char fold(char c, bool ignore_case) {
    return ignore_case && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// Glob match with * (any run) and ? (one character; one byte here), linear with one backtrack.
bool glob(std::string_view pattern, std::string_view text, bool ignore_case) {
    std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
    while (t < text.size()) {
        if (p < pattern.size() &&
            (pattern[p] == '?' || fold(pattern[p], ignore_case) == fold(text[t], ignore_case))) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

// PN values compare without their empty trailing components ("Doe^John^^" is "Doe^John").
std::string trim_name(std::string s) {
    while (!s.empty() && (s.back() == '^' || s.back() == '=' || s.back() == ' ')) s.pop_back();
    return s;
}

// The key's single (exact, no wildcard, no list) value, or "" when it has none.
std::string exact(const codecs::dicom::QueryKey* key) {
    if (!key || !key->matchable || has_wildcard(key->value) ||
        key->value.find('\\') != std::string::npos) {
        return {};
    }
    return key->value;
}

constexpr std::pair<std::string_view, Level> kLevels[] = {{"PATIENT", Level::patient},
                                                          {"STUDY", Level::study},
                                                          {"SERIES", Level::series},
                                                          {"IMAGE", Level::image}};

std::string_view level_name(Level level) {
    return kLevels[static_cast<int>(level)].first;
}

bool is_study_root(std::string_view sop_class) {
    return sop_class == kStudyRootFind || sop_class == kStudyRootMove || sop_class == kStudyRootGet;
}

// The identifier's Query/Retrieve Level in the model; nullopt (and 0xA900 with the reason)
// when it is missing or not one of the model's.
std::optional<Level> level_of(const codecs::dicom::QueryIdentifier& identifier, bool study_root,
                              uint16_t& status, std::string& reason) {
    const auto* level_key = identifier.find(kQueryRetrieveLevel);
    if (!level_key || level_key->value.empty()) {
        status = 0xA900;
        reason = "no Query/Retrieve Level (0008,0052)";
        return std::nullopt;
    }
    const auto named = std::find_if(std::begin(kLevels), std::end(kLevels),
                                    [&](const auto& l) { return l.first == level_key->value; });
    if (named == std::end(kLevels) || (study_root && named->second == Level::patient)) {
        status = 0xA900;
        reason = "Query/Retrieve Level '" + level_key->value + "' is not one of " +
                 (study_root ? "STUDY, SERIES, IMAGE" : "PATIENT, STUDY, SERIES, IMAGE");
        return std::nullopt;
    }
    return named->second;
}

}  // namespace

bool is_find_sop_class(std::string_view sop_class) {
    return sop_class == kPatientRootFind || sop_class == kStudyRootFind;
}

bool is_move_sop_class(std::string_view sop_class) {
    return sop_class == kPatientRootMove || sop_class == kStudyRootMove;
}

bool is_get_sop_class(std::string_view sop_class) {
    return sop_class == kPatientRootGet || sop_class == kStudyRootGet;
}

Selection select_instances(std::string_view sop_class,
                           const codecs::dicom::QueryIdentifier& identifier, store::Index& index,
                           const Visible& visible, std::size_t max_instances) {
    Selection out;
    const bool study_root = is_study_root(sop_class);
    const auto level = level_of(identifier, study_root, out.status, out.reason);
    if (!level) return out;
    out.level = std::string(level_name(*level));
    // The unique key of each level, and where it goes in an index query.
    struct Unique {
        Level level;
        uint32_t tag;
        const char* name;
        std::string store::InstanceQuery::*field;
    };
    static const Unique kUnique[] = {
        {Level::patient, 0x00100020, "Patient ID (0010,0020)", &store::InstanceQuery::patient_id},
        {Level::study, 0x0020000D, "Study Instance UID (0020,000D)",
         &store::InstanceQuery::study_instance_uid},
        {Level::series, 0x0020000E, "Series Instance UID (0020,000E)",
         &store::InstanceQuery::series_instance_uid},
        {Level::image, 0x00080018, "SOP Instance UID (0008,0018)",
         &store::InstanceQuery::sop_instance_uid}};
    store::InstanceQuery base;
    base.limit = max_instances + 1;
    std::vector<std::string> wanted;  // the query level's UIDs (a list is allowed there)
    const Unique* own = nullptr;
    for (const auto& u : kUnique) {
        if (u.level > *level || (study_root && u.level == Level::patient)) continue;
        const auto* key = identifier.find(u.tag);
        const std::string value = key && key->matchable ? key->value : std::string();
        if (u.level == *level) {
            own = &u;
            wanted = split(value, '\\');
            std::erase(wanted, std::string());
            std::sort(wanted.begin(), wanted.end());
            wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
        } else if (!value.empty() && value.find('\\') == std::string::npos) {
            base.*u.field = value;  // higher levels: one value, or none (relational)
        }
    }
    if (!own || wanted.empty()) {
        out.status = 0xA900;
        out.reason = std::string("no ") + (own ? own->name : "unique key") + " for a " + out.level +
                     "-level retrieval";
        return out;
    }
    for (const auto& value : wanted) {
        store::InstanceQuery q = base;
        q.*(own->field) = value;
        for (auto& row : index.find_instances(q)) {
            if (!visible(row.record)) continue;
            if (out.instances.size() == max_instances) {
                out.status = 0xA700;
                out.reason = "more than " + std::to_string(max_instances) +
                             " instances to move: ask for fewer studies at a time";
                out.instances.clear();
                return out;
            }
            out.instances.push_back(std::move(row.record));
        }
    }
    return out;
}

bool matches(const std::string& key_value, std::string_view vr, const std::string& value) {
    if (key_value.empty() || key_value == "*") return true;
    if (vr == "UI") {
        for (const auto& uid : split(key_value, '\\')) {
            if (uid == value) return true;
        }
        return false;
    }
    if ((vr == "DA" || vr == "TM" || vr == "DT") && key_value.find('-') != std::string::npos) {
        if (value.empty()) return false;
        const auto dash = key_value.find('-');
        const std::string from = key_value.substr(0, dash), to = key_value.substr(dash + 1);
        // Dates compare as text (YYYYMMDD); a bare upper date includes the whole day.
        return (from.empty() || value >= from) && (to.empty() || value.substr(0, to.size()) <= to);
    }
    const bool pn = vr == "PN";
    for (const auto& alternative : split(key_value, '\\')) {
        const std::string pattern = pn ? trim_name(alternative) : alternative;
        const std::string text = pn ? trim_name(value) : value;
        if (has_wildcard(pattern) ? glob(pattern, text, pn)
                                  : pattern.size() == text.size() && glob(pattern, text, pn)) {
            return true;
        }
    }
    return false;
}

FindAnswer find(std::string_view sop_class, const codecs::dicom::QueryIdentifier& identifier,
                store::Index& index, const Visible& visible, std::size_t max_instances) {
    FindAnswer answer;
    const bool study_root = is_study_root(sop_class);
    const auto parsed = level_of(identifier, study_root, answer.status, answer.reason);
    if (!parsed) return answer;
    const Level level = *parsed;
    answer.level = std::string(level_name(level));

    // What the index can narrow by itself; everything is matched again below.
    store::InstanceQuery q;
    q.patient_id = exact(identifier.find(0x00100020));
    q.study_instance_uid = exact(identifier.find(0x0020000D));
    q.accession_number = exact(identifier.find(0x00080050));
    if (const auto* date = identifier.find(0x00080020); date && !has_wildcard(date->value)) {
        q.study_date = date->value;
    }
    if (level >= Level::series) {
        q.series_instance_uid = exact(identifier.find(0x0020000E));
        q.modality = exact(identifier.find(0x00080060));
    }
    if (level == Level::image) q.sop_instance_uid = exact(identifier.find(0x00080018));
    q.limit = max_instances + 1;
    const auto rows = index.find_instances(q);
    if (rows.size() > max_instances) {
        answer.status = 0xA700;
        answer.reason = "more than " + std::to_string(max_instances) +
                        " instances match: narrow the query (StudyDate, PatientID)";
        return answer;
    }

    // The keys matched per instance, and those matched on the whole entity (computed).
    struct Key {
        const codecs::dicom::QueryKey* key;
        const Attribute* attribute;
    };
    std::vector<Key> per_instance, per_entity;
    for (const auto& key : identifier.keys) {
        if (key.tag == kQueryRetrieveLevel || key.tag == kSpecificCharacterSet) continue;
        const Attribute* a = attribute(key.tag);
        if (!a || !answerable(*a, level, study_root)) {
            answer.unsupported_keys = true;
            continue;
        }
        if (!key.matchable || key.value.empty()) continue;
        (computed(a->source) ? per_entity : per_instance).push_back({&key, a});
    }

    std::vector<std::string> order;
    std::map<std::string, Entity> entities;
    for (const auto& row : rows) {
        const auto& r = row.record;
        if (!visible(r)) continue;
        Entity probe;
        probe.first = &r;
        const bool wanted =
            std::all_of(per_instance.begin(), per_instance.end(), [&](const Key& k) {
                return matches(k.key->value, k.key->vr, value_of(k.attribute->source, probe));
            });
        if (!wanted) continue;
        const std::string& id = level == Level::patient  ? r.patient_id
                                : level == Level::study  ? r.study_instance_uid
                                : level == Level::series ? r.series_instance_uid
                                                         : r.sop_instance_uid;
        auto [it, fresh] = entities.try_emplace(id);
        if (fresh) {
            it->second.first = &r;
            order.push_back(id);
        }
        Entity& e = it->second;
        if (!r.modality.empty()) e.modalities.insert(r.modality);
        e.studies.insert(r.study_instance_uid);
        e.series.insert(r.series_instance_uid);
        ++e.instances;
    }

    for (const auto& id : order) {
        const Entity& e = entities.at(id);
        const bool wanted = std::all_of(per_entity.begin(), per_entity.end(), [&](const Key& k) {
            // ModalitiesInStudy matches when any of the study's modalities does.
            return std::any_of(e.modalities.begin(), e.modalities.end(),
                               [&](const auto& m) { return matches(k.key->value, k.key->vr, m); });
        });
        if (!wanted) continue;
        Match match;
        match.emplace_back(kQueryRetrieveLevel, answer.level);
        for (const auto& key : identifier.keys) {
            const Attribute* a = attribute(key.tag);
            if (a && answerable(*a, level, study_root)) {
                match.emplace_back(key.tag, value_of(a->source, e));
            }
        }
        // The unique keys of this level and those above, so the caller can go one level down.
        const auto unique = [&](uint32_t tag, Level at, Source s) {
            const bool listed = std::any_of(match.begin(), match.end(),
                                            [tag](const auto& v) { return v.first == tag; });
            if (!listed && at <= level) match.emplace_back(tag, value_of(s, e));
        };
        if (!study_root) unique(0x00100020, Level::patient, Source::patient_id);
        unique(0x0020000D, Level::study, Source::study_uid);
        unique(0x0020000E, Level::series, Source::series_uid);
        unique(0x00080018, Level::image, Source::sop_uid);
        std::sort(match.begin(), match.end());
        answer.matches.push_back(std::move(match));
    }
    return answer;
}

}  // namespace countylink::query

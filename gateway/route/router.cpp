#include "gateway/route/router.hpp"

#include <algorithm>

#include "codecs/dicom/sop_classes.hpp"

namespace countylink::route {
namespace {

bool any_or_contains(const std::vector<std::string>& allowed, const std::string& value) {
    return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

config::Priority priority_of(const codecs::dicom::Identifiers& ids) {
    const std::string requested = upper(ids.requested_procedure_priority);
    if (requested == "STAT") return config::Priority::stat;
    if (requested == "HIGH") return config::Priority::urgent;
    if (upper(ids.study_priority_id) == "HIGH") return config::Priority::urgent;
    return config::Priority::routine;
}

Routing Router::route(const codecs::dicom::Identifiers& ids, const std::string& township,
                      const std::string& ecg_verdict) const {
    Routing out;
    out.priority = priority_of(ids);
    out.immediate = codecs::dicom::is_ecg_sop_class(ids.sop_class_uid);
    if (settings_.rules.empty()) {
        if (out.immediate) {
            out.queues = {"ecg"};
        } else if (codecs::dicom::is_image_sop_class(ids.sop_class_uid)) {
            out.queues = {"imaging"};
        }
        return out;
    }
    for (const auto& rule : settings_.rules) {
        if (!any_or_contains(rule.modalities, ids.modality) ||
            !any_or_contains(rule.sop_classes, ids.sop_class_uid) ||
            !any_or_contains(rule.townships, township) ||
            (!rule.ecg_verdicts.empty() &&
             (ecg_verdict.empty() || !any_or_contains(rule.ecg_verdicts, ecg_verdict)))) {
            continue;
        }
        for (const auto& q : rule.queues) {
            if (std::find(out.queues.begin(), out.queues.end(), q) == out.queues.end()) {
                out.queues.push_back(q);
            }
        }
        for (const auto& d : rule.forward) {
            if (std::find(out.forward.begin(), out.forward.end(), d) == out.forward.end()) {
                out.forward.push_back(d);
            }
        }
        if (rule.priority) out.priority = std::min(out.priority, *rule.priority);
    }
    return out;
}

}  // namespace countylink::route

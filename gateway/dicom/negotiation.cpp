#include "gateway/dicom/negotiation.hpp"

#include <algorithm>

#include "codecs/dicom/dataset_reader.hpp"
#include "codecs/dicom/part10.hpp"
#include "codecs/dicom/sop_classes.hpp"
#include "codecs/dicom/storage_commitment.hpp"
#include "gateway/query/find.hpp"

namespace countylink::dicom {

namespace cd = countylink::codecs::dicom;

std::variant<Accepted, Rejected> negotiate(const AssociateRq& rq, const config::Config& config,
                                           const std::string& peer_address) {
    if ((rq.protocol_version & 0x0001) == 0) {
        return Rejected{reject::protocol_version_not_supported, "protocol version not supported"};
    }
    if (rq.application_context != cd::kApplicationContext) {
        return Rejected{reject::application_context_not_supported,
                        "application context " + rq.application_context + " not supported"};
    }
    if (rq.called_ae != config.dicom.ae_title) {
        return Rejected{
            reject::called_ae_not_recognized,
            "called AE '" + rq.called_ae + "' is not ours ('" + config.dicom.ae_title + "')"};
    }
    const config::Principal* viewer = config.principal_of_ae(rq.calling_ae);
    if (viewer && !viewer->viewer_may_call_from(peer_address)) {
        return Rejected{reject::calling_ae_not_recognized,
                        "viewer AE '" + rq.calling_ae + "' called from " + peer_address +
                            ", not one of principal '" + viewer->name + "''s ae_hosts"};
    }
    auto township = viewer ? std::optional<std::string>("") : config.township_of(rq.calling_ae);
    if (!township) {
        return Rejected{reject::calling_ae_not_recognized,
                        "calling AE '" + rq.calling_ae + "' is not a registered township device"};
    }

    Accepted out;
    out.township = *township;
    out.viewer = viewer;
    const bool may_query = viewer || *township != config::unregistered_township;
    out.peer_max_pdu = rq.user.max_pdu_length;
    out.ac.protocol_version = 1;
    out.ac.called_ae = rq.called_ae;
    out.ac.calling_ae = rq.calling_ae;
    out.ac.application_context = std::string(cd::kApplicationContext);
    out.ac.user.max_pdu_length = config.dicom.max_pdu_bytes;
    out.ac.user.implementation_class_uid = std::string(cd::kImplementationClassUid);
    out.ac.user.implementation_version_name = std::string(cd::kImplementationVersionName);

    for (const auto& pc : rq.contexts) {
        PresentationContextAc reply{pc.id, ContextResult::acceptance,
                                    std::string(cd::kImplicitVrLittleEndian)};
        // Request datasets (Storage Commitment, C-FIND) are read by us: little endian only.
        const bool find = query::is_find_sop_class(pc.abstract_syntax);
        const bool move = query::is_move_sop_class(pc.abstract_syntax) ||
                          query::is_get_sop_class(pc.abstract_syntax);
        const bool request = find || move || pc.abstract_syntax == cd::kStorageCommitmentSopClass;
        // A viewer receiving C-GET sub-operations proposes storage with the SCP role for itself.
        const auto role = std::find_if(
            rq.user.roles.begin(), rq.user.roles.end(),
            [&](const RoleSelection& r) { return r.sop_class_uid == pc.abstract_syntax && r.scp; });
        const bool get_storage =
            viewer && role != rq.user.roles.end() && cd::is_accepted_sop_class(pc.abstract_syntax);
        const bool verification = pc.abstract_syntax == cd::kVerificationSopClass;
        if (!request && !cd::is_accepted_sop_class(pc.abstract_syntax)) {
            reply.result = ContextResult::abstract_syntax_not_supported;
        } else if (viewer && !find && !move && !verification && !get_storage) {
            reply.result = ContextResult::user_rejection;
            out.note =
                "a viewer (principal '" + viewer->name + "') may only query, retrieve and echo";
        } else if (move && !viewer) {
            reply.result = ContextResult::user_rejection;
            out.note =
                "C-MOVE is for viewers: list the AE title in an [[api.principals]] ae_titles";
        } else if (find && !may_query) {
            reply.result = ContextResult::user_rejection;
            out.note =
                "C-FIND refused to an unregistered AE: list it under [[townships]] "
                "(its own studies) or in an [[api.principals]] ae_titles (a viewer)";
        } else {
            auto ts = std::find_if(pc.transfer_syntaxes.begin(), pc.transfer_syntaxes.end(),
                                   [request](const std::string& t) {
                                       return request ? cd::is_request_transfer_syntax(t)
                                                      : cd::is_accepted_transfer_syntax(t);
                                   });
            if (ts == pc.transfer_syntaxes.end()) {
                reply.result = ContextResult::transfer_syntaxes_not_supported;
            } else {
                reply.transfer_syntax = *ts;
                out.contexts[pc.id] = AcceptedContext{pc.abstract_syntax, *ts, get_storage};
                const bool answered = std::any_of(
                    out.ac.user.roles.begin(), out.ac.user.roles.end(),
                    [&](const RoleSelection& r) { return r.sop_class_uid == pc.abstract_syntax; });
                if (get_storage && !answered) {
                    // It may be the SCP (it receives), not the SCU: viewers do not store.
                    out.ac.user.roles.push_back({pc.abstract_syntax, false, true});
                }
            }
        }
        out.ac.contexts.push_back(std::move(reply));
    }
    return out;
}

}  // namespace countylink::dicom

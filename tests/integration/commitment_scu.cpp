#include "tests/integration/commitment_scu.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/cond.h>
#include <dcmtk/dcmnet/dimse.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

namespace countylink::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint16_t kRequestStorageCommitment = 1;  // Action Type ID, PS3.4 J.3.2

// Explicit first: ASC_acceptContextsWithPreferredTransferSyntaxes takes the order as preference.
const char* const kTransferSyntaxes[] = {UID_LittleEndianExplicitTransferSyntax,
                                         UID_LittleEndianImplicitTransferSyntax};

// Owns a T_ASC_Network; dropping it closes the listening socket.
struct Network {
    T_ASC_Network* net = nullptr;
    Network() = default;
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;
    ~Network() { ASC_dropNetwork(&net); }
};

// Owns association parameters until ASC_requestAssociation hands them to the association.
struct Parameters {
    T_ASC_Parameters* params = nullptr;
    Parameters() = default;
    Parameters(const Parameters&) = delete;
    Parameters& operator=(const Parameters&) = delete;
    ~Parameters() {
        if (params != nullptr) ASC_destroyAssociationParameters(&params);
    }
};

// Owns a T_ASC_Association; one still open at scope exit is aborted, so every early return leaves
// the peer a definite end instead of a half-open connection.
struct Association {
    T_ASC_Association* assoc = nullptr;
    bool open = false;  // established, neither released nor aborted yet
    Association() = default;
    Association(const Association&) = delete;
    Association& operator=(const Association&) = delete;
    ~Association() {
        if (assoc != nullptr && open) ASC_abortAssociation(assoc);
        ASC_destroyAssociation(&assoc);
    }
};

// Whole seconds until `deadline`, at least 1: DCMTK reads a timeout of 0 as "none" in places.
int seconds_left(Clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::seconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::max<decltype(left)>(left, 1));
}

Clock::time_point deadline_after(int timeout_s) {
    return Clock::now() + std::chrono::seconds(std::max(timeout_s, 1));
}

std::string text(const OFCondition& cond) {
    return cond.text();
}

std::string hex4(uint16_t value) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%04X", static_cast<unsigned>(value));
    return buf;
}

// Trims the spaces PS3.5 calls insignificant in an AE title.
std::string trimmed(const std::string& s) {
    const auto first = s.find_first_not_of(' ');
    if (first == std::string::npos) return {};
    return s.substr(first, s.find_last_not_of(' ') - first + 1);
}

// The listener can only answer nullopt; this line in the test log says why.
void note(const std::string& what) {
    std::fprintf(stderr, "receive_commitment_report: %s\n", what.c_str());
}

// The value of `tag` in `item`, empty when absent.
std::string string_of(DcmItem& item, const DcmTagKey& tag) {
    OFString value;
    if (item.findAndGetOFString(tag, value).bad()) return {};
    return value.c_str();
}

CommitmentReference reference_of(DcmItem& item) {
    return {string_of(item, DCM_ReferencedSOPClassUID),
            string_of(item, DCM_ReferencedSOPInstanceUID)};
}

// Reads the Event Information (PS3.4 J.3.3). Absent attributes stay empty, so a test sees exactly
// what the SCP sent rather than a verdict of this parser.
CommitmentReport parse_report(DcmItem& info, uint16_t event_type) {
    CommitmentReport report;
    report.event_type = event_type;
    report.transaction_uid = string_of(info, DCM_TransactionUID);
    DcmSequenceOfItems* committed = nullptr;
    if (info.findAndGetSequence(DCM_ReferencedSOPSequence, committed).good() &&
        committed != nullptr) {
        for (unsigned long i = 0; i < committed->card(); ++i) {
            if (DcmItem* item = committed->getItem(i))
                report.committed.push_back(reference_of(*item));
        }
    }
    DcmSequenceOfItems* failed = nullptr;
    if (info.findAndGetSequence(DCM_FailedSOPSequence, failed).good() && failed != nullptr) {
        for (unsigned long i = 0; i < failed->card(); ++i) {
            DcmItem* item = failed->getItem(i);
            if (item == nullptr) continue;
            CommitmentFailure failure;
            failure.reference = reference_of(*item);
            Uint16 reason = 0;
            if (item->findAndGetUint16(DCM_FailureReason, reason).good()) failure.reason = reason;
            report.failed.push_back(failure);
        }
    }
    return report;
}

// Reads the Event Information of `rq` and answers it: success for a Storage Commitment Push Model
// report on the well-known instance with Event Type 1 or 2, a failure status otherwise. Returns the
// report, or nullopt with `error` set when it was refused or the association broke.
std::optional<CommitmentReport> answer_event_report(T_ASC_Association* assoc,
                                                    T_ASC_PresentationContextID pres_id,
                                                    const T_DIMSE_N_EventReportRQ& rq,
                                                    int timeout_s, std::string& error) {
    std::unique_ptr<DcmDataset> info;
    if (rq.DataSetType != DIMSE_DATASET_NULL) {
        DcmDataset* received = nullptr;
        T_ASC_PresentationContextID data_pres_id = 0;
        const OFCondition cond = DIMSE_receiveDataSetInMemory(
            assoc, DIMSE_NONBLOCKING, timeout_s, &data_pres_id, &received, nullptr, nullptr);
        info.reset(received);
        if (cond.bad()) {
            error = "receiving the N-EVENT-REPORT-RQ data set: " + text(cond);
            return std::nullopt;
        }
    }

    DIC_US status = STATUS_Success;
    if (std::strcmp(rq.AffectedSOPClassUID, UID_StorageCommitmentPushModelSOPClass) != 0) {
        status = STATUS_N_NoSuchSOPClass;
        error = std::string("N-EVENT-REPORT-RQ for SOP class ") + rq.AffectedSOPClassUID;
    } else if (std::strcmp(rq.AffectedSOPInstanceUID, UID_StorageCommitmentPushModelSOPInstance) !=
               0) {
        status = STATUS_N_NoSuchSOPInstance;
        error = std::string("N-EVENT-REPORT-RQ for SOP instance ") + rq.AffectedSOPInstanceUID +
                ", not the well-known " + UID_StorageCommitmentPushModelSOPInstance;
    } else if (rq.EventTypeID != 1 && rq.EventTypeID != 2) {
        status = STATUS_N_NoSuchEventType;
        error = "N-EVENT-REPORT-RQ with Event Type ID " + std::to_string(rq.EventTypeID);
    } else if (info == nullptr) {
        status = STATUS_N_MissingAttribute;
        error = "N-EVENT-REPORT-RQ without Event Information";
    }

    T_DIMSE_Message rsp{};
    rsp.CommandField = DIMSE_N_EVENT_REPORT_RSP;
    T_DIMSE_N_EventReportRSP& answer = rsp.msg.NEventReportRSP;
    answer.MessageIDBeingRespondedTo = rq.MessageID;
    OFStandard::strlcpy(answer.AffectedSOPClassUID, rq.AffectedSOPClassUID,
                        sizeof answer.AffectedSOPClassUID);
    OFStandard::strlcpy(answer.AffectedSOPInstanceUID, rq.AffectedSOPInstanceUID,
                        sizeof answer.AffectedSOPInstanceUID);
    answer.DimseStatus = status;
    answer.EventTypeID = rq.EventTypeID;
    answer.DataSetType = DIMSE_DATASET_NULL;
    answer.opts = O_NEVENTREPORT_AFFECTEDSOPCLASSUID | O_NEVENTREPORT_AFFECTEDSOPINSTANCEUID |
                  O_NEVENTREPORT_EVENTTYPEID;
    const OFCondition cond =
        DIMSE_sendMessageUsingMemoryData(assoc, pres_id, &rsp, nullptr, nullptr, nullptr, nullptr);
    if (cond.bad()) {
        error +=
            (error.empty() ? "" : "; ") + std::string("sending N-EVENT-REPORT-RSP: ") + text(cond);
        return std::nullopt;
    }
    if (status != STATUS_Success) return std::nullopt;
    return parse_report(*info, rq.EventTypeID);
}

// Ends an open association with A-RELEASE (an abort if that fails); returns what failed, or "".
std::string release(Association& association) {
    if (!association.open) return {};
    association.open = false;
    const OFCondition cond = ASC_releaseAssociation(association.assoc);
    if (cond.good()) return {};
    ASC_abortAssociation(association.assoc);
    return "releasing the association: " + text(cond);
}

// Builds the Action Information of PS3.4 J.3.2: the transaction and the Referenced SOP Sequence,
// present (empty) even without references so the SCP sees what it is asked for.
OFCondition action_information(DcmDataset& info, const std::string& transaction_uid,
                               const std::vector<CommitmentReference>& refs) {
    OFCondition cond = info.putAndInsertString(DCM_TransactionUID, transaction_uid.c_str());
    if (cond.good() && refs.empty()) cond = info.insertEmptyElement(DCM_ReferencedSOPSequence);
    for (const CommitmentReference& ref : refs) {
        if (cond.bad()) break;
        DcmItem* item = nullptr;
        cond = info.findOrCreateSequenceItem(DCM_ReferencedSOPSequence, item, -2);
        if (cond.good()) {
            cond = item->putAndInsertString(DCM_ReferencedSOPClassUID, ref.sop_class_uid.c_str());
        }
        if (cond.good()) {
            cond = item->putAndInsertString(DCM_ReferencedSOPInstanceUID,
                                            ref.sop_instance_uid.c_str());
        }
    }
    return cond;
}

// Waits for the A-RELEASE-RQ that should follow an answered report and acknowledges it; anything
// else leaves the association open for the owner to abort.
void await_release(Association& association, Clock::time_point deadline) {
    T_DIMSE_Message msg{};
    T_ASC_PresentationContextID pres_id = 0;
    DcmDataset* detail = nullptr;
    const OFCondition cond = DIMSE_receiveCommand(association.assoc, DIMSE_NONBLOCKING,
                                                  seconds_left(deadline), &pres_id, &msg, &detail);
    const std::unique_ptr<DcmDataset> owned_detail(detail);
    if (cond == DUL_PEERREQUESTEDRELEASE) {
        ASC_acknowledgeRelease(association.assoc);
        association.open = false;
    } else if (cond == DUL_PEERABORTEDASSOCIATION) {
        association.open = false;
        note("the SCP aborted instead of releasing after the N-EVENT-REPORT-RSP");
    } else {
        note("no A-RELEASE-RQ after the N-EVENT-REPORT-RSP (" +
             (cond.good() ? "another DIMSE message" : text(cond)) + "); aborting");
    }
}

// Negotiates the association the SCP opened for its report, takes one N-EVENT-REPORT-RQ, answers
// it and waits for the release. nullopt when the association is refused or breaks before that.
std::optional<CommitmentReport> serve_report(Association& association, const std::string& ae_title,
                                             Clock::time_point deadline) {
    T_ASC_Parameters* params = association.assoc->params;
    T_ASC_RejectParameters reject = {ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
                                     ASC_REASON_SU_NOREASON};
    const std::string called = trimmed(params->DULparams.calledAPTitle);
    if (called != trimmed(ae_title)) {
        note("association for called AE '" + called + "' refused, listening as '" + ae_title + "'");
        reject.reason = ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED;
        ASC_rejectAssociation(association.assoc, &reject);
        return std::nullopt;
    }

    // The requester sends the N-EVENT-REPORT, so PS3.4 J.3.3 wants it to propose the SCP role
    // (SCU=0 SCP=1); DCMTK shows that item as proposedRole ASC_SC_ROLE_SCP.
    bool proposed_scp_role = false;
    for (int i = 0; i < ASC_countPresentationContexts(params); ++i) {
        T_ASC_PresentationContext pc;
        if (ASC_getPresentationContext(params, i, &pc).good() &&
            std::strcmp(pc.abstractSyntax, UID_StorageCommitmentPushModelSOPClass) == 0 &&
            pc.proposedRole == ASC_SC_ROLE_SCP) {
            proposed_scp_role = true;
        }
    }
    if (!proposed_scp_role) {
        note("association refused: no Storage Commitment Push Model context with role SCU=0 SCP=1");
        ASC_rejectAssociation(association.assoc, &reject);
        return std::nullopt;
    }

    // ASC_SC_ROLE_SCP answers the proposal with SCU=0 SCP=1 (dul.h role table); the default
    // would send no role item in the A-ASSOCIATE-AC, which denies the requester the SCP role.
    const char* abstract_syntaxes[] = {UID_StorageCommitmentPushModelSOPClass};
    const char* transfer_syntaxes[] = {kTransferSyntaxes[0], kTransferSyntaxes[1]};
    OFCondition cond = ASC_acceptContextsWithPreferredTransferSyntaxes(
        params, abstract_syntaxes, 1, transfer_syntaxes, 2, ASC_SC_ROLE_SCP);
    if (cond.bad() || ASC_findAcceptedPresentationContextID(
                          association.assoc, UID_StorageCommitmentPushModelSOPClass) == 0) {
        note("association refused: no acceptable Storage Commitment context (" +
             (cond.bad() ? text(cond) : std::string("transfer syntax")) + ")");
        ASC_rejectAssociation(association.assoc, &reject);
        return std::nullopt;
    }
    ASC_setAPTitles(params, nullptr, nullptr, ae_title.c_str());
    cond = ASC_acknowledgeAssociation(association.assoc);
    if (cond.bad()) {
        note("A-ASSOCIATE-AC failed: " + text(cond));
        return std::nullopt;
    }
    association.open = true;

    T_DIMSE_Message msg{};
    T_ASC_PresentationContextID pres_id = 0;
    DcmDataset* detail = nullptr;
    cond = DIMSE_receiveCommand(association.assoc, DIMSE_NONBLOCKING, seconds_left(deadline),
                                &pres_id, &msg, &detail);
    const std::unique_ptr<DcmDataset> owned_detail(detail);
    if (cond == DUL_PEERREQUESTEDRELEASE) {
        ASC_acknowledgeRelease(association.assoc);
        association.open = false;
        note("the SCP released without sending an N-EVENT-REPORT-RQ");
        return std::nullopt;
    }
    if (cond == DUL_PEERABORTEDASSOCIATION) association.open = false;
    if (cond.bad()) {
        note("waiting for the N-EVENT-REPORT-RQ: " + text(cond));
        return std::nullopt;
    }
    if (msg.CommandField != DIMSE_N_EVENT_REPORT_RQ) {
        note("expected N-EVENT-REPORT-RQ, got command field " +
             hex4(static_cast<uint16_t>(msg.CommandField)));
        return std::nullopt;
    }
    std::string error;
    std::optional<CommitmentReport> report = answer_event_report(
        association.assoc, pres_id, msg.msg.NEventReportRQ, seconds_left(deadline), error);
    if (!report) note(error);
    if (association.open) await_release(association, deadline);
    return report;
}

}  // namespace

CommitmentAnswer request_commitment(uint16_t port, const std::string& calling_ae,
                                    const std::string& called_ae,
                                    const std::string& transaction_uid,
                                    const std::vector<CommitmentReference>& refs,
                                    bool wait_for_report, int timeout_s) {
    CommitmentAnswer answer;
    const Clock::time_point deadline = deadline_after(timeout_s);

    Network network;
    OFCondition cond =
        ASC_initializeNetwork(NET_REQUESTOR, 0, seconds_left(deadline), &network.net);
    if (cond.bad()) {
        answer.error = "initialising the DCMTK network: " + text(cond);
        return answer;
    }
    Parameters params;
    cond = ASC_createAssociationParameters(&params.params, ASC_DEFAULTMAXPDU);
    if (cond.bad()) {
        answer.error = "creating association parameters: " + text(cond);
        return answer;
    }
    const std::string peer = "127.0.0.1:" + std::to_string(port);
    ASC_setAPTitles(params.params, calling_ae.c_str(), called_ae.c_str(), nullptr);
    ASC_setPresentationAddresses(params.params, "localhost", peer.c_str());
    // Default role: the requester is the SCU, and the SCP may report on this association anyway.
    const char* transfer_syntaxes[] = {kTransferSyntaxes[0], kTransferSyntaxes[1]};
    cond = ASC_addPresentationContext(params.params, 1, UID_StorageCommitmentPushModelSOPClass,
                                      transfer_syntaxes, 2);
    if (cond.bad()) {
        answer.error = "adding the presentation context: " + text(cond);
        return answer;
    }

    Association association;
    cond = ASC_requestAssociation(network.net, params.params, &association.assoc);
    if (association.assoc != nullptr) params.params = nullptr;  // the association owns them now
    if (cond.bad()) {
        if (cond == DUL_ASSOCIATIONREJECTED && association.assoc != nullptr) {
            T_ASC_RejectParameters reject;
            ASC_getRejectParameters(association.assoc->params, &reject);
            OFString why;
            ASC_printRejectParameters(why, &reject);
            std::string reason = why.c_str();
            std::replace(reason.begin(), reason.end(), '\n', ' ');  // one line in test messages
            answer.error = "association rejected: " + reason;
        } else {
            answer.error = "requesting the association: " + text(cond);
        }
        return answer;
    }
    association.open = true;
    const T_ASC_PresentationContextID pres_id = ASC_findAcceptedPresentationContextID(
        association.assoc, UID_StorageCommitmentPushModelSOPClass);
    if (pres_id == 0) {
        answer.error = "the SCP accepted the association but not the Storage Commitment context";
        release(association);
        return answer;
    }
    answer.associated = true;

    DcmDataset info;
    cond = action_information(info, transaction_uid, refs);
    if (cond.bad()) {
        answer.error = "building the Action Information: " + text(cond);
        release(association);
        return answer;
    }
    T_DIMSE_Message request{};
    request.CommandField = DIMSE_N_ACTION_RQ;
    T_DIMSE_N_ActionRQ& action = request.msg.NActionRQ;
    action.MessageID = association.assoc->nextMsgID++;
    OFStandard::strlcpy(action.RequestedSOPClassUID, UID_StorageCommitmentPushModelSOPClass,
                        sizeof action.RequestedSOPClassUID);
    OFStandard::strlcpy(action.RequestedSOPInstanceUID, UID_StorageCommitmentPushModelSOPInstance,
                        sizeof action.RequestedSOPInstanceUID);
    action.ActionTypeID = kRequestStorageCommitment;
    action.DataSetType = DIMSE_DATASET_PRESENT;
    cond = DIMSE_sendMessageUsingMemoryData(association.assoc, pres_id, &request, nullptr, &info,
                                            nullptr, nullptr);
    if (cond.bad()) {
        answer.error = "sending N-ACTION-RQ: " + text(cond);
        return answer;
    }

    // The N-ACTION-RSP first, then the report if asked for. A report that comes anyway (or too
    // early) is answered and kept; a failed N-ACTION promises no report, so none is awaited.
    bool responded = false;
    bool want_report = wait_for_report;
    while (!responded || want_report) {
        T_DIMSE_Message msg{};
        T_ASC_PresentationContextID msg_pres_id = 0;
        DcmDataset* detail = nullptr;
        cond = DIMSE_receiveCommand(association.assoc, DIMSE_NONBLOCKING, seconds_left(deadline),
                                    &msg_pres_id, &msg, &detail);
        const std::unique_ptr<DcmDataset> owned_detail(detail);
        const char* awaited = responded ? "N-EVENT-REPORT-RQ" : "N-ACTION-RSP";
        if (cond == DUL_PEERREQUESTEDRELEASE) {
            ASC_acknowledgeRelease(association.assoc);
            association.open = false;
            answer.error = std::string("the SCP released the association before the ") + awaited;
            return answer;
        }
        if (cond == DUL_PEERABORTEDASSOCIATION) {
            association.open = false;
            answer.error = std::string("the SCP aborted the association before the ") + awaited;
            return answer;
        }
        if (cond == DIMSE_NODATAAVAILABLE) {
            answer.error = std::string("no ") + awaited + " within " +
                           std::to_string(std::max(timeout_s, 1)) + " s";
            return answer;
        }
        if (cond.bad()) {
            answer.error = std::string("waiting for the ") + awaited + ": " + text(cond);
            return answer;
        }

        if (msg.CommandField == DIMSE_N_ACTION_RSP && !responded) {
            const T_DIMSE_N_ActionRSP& rsp = msg.msg.NActionRSP;
            if (rsp.MessageIDBeingRespondedTo != action.MessageID) {
                answer.error = "N-ACTION-RSP answers message " +
                               std::to_string(rsp.MessageIDBeingRespondedTo) + ", not " +
                               std::to_string(action.MessageID);
                return answer;
            }
            if (rsp.DataSetType != DIMSE_DATASET_NULL) {  // an Action Reply we have no use for
                DcmDataset* reply = nullptr;
                T_ASC_PresentationContextID reply_pres_id = 0;
                cond = DIMSE_receiveDataSetInMemory(association.assoc, DIMSE_NONBLOCKING,
                                                    seconds_left(deadline), &reply_pres_id, &reply,
                                                    nullptr, nullptr);
                const std::unique_ptr<DcmDataset> owned_reply(reply);
                if (cond.bad()) {
                    answer.error = "receiving the N-ACTION-RSP data set: " + text(cond);
                    return answer;
                }
            }
            responded = true;
            answer.action_status = rsp.DimseStatus;
            if (!DICOM_SUCCESS_STATUS(rsp.DimseStatus) && !DICOM_WARNING_STATUS(rsp.DimseStatus)) {
                if (want_report) {
                    answer.error = "N-ACTION-RSP status " + hex4(rsp.DimseStatus) +
                                   ": no N-EVENT-REPORT awaited";
                }
                want_report = false;
            }
        } else if (msg.CommandField == DIMSE_N_EVENT_REPORT_RQ && !answer.report) {
            if (!responded) answer.error = "N-EVENT-REPORT-RQ arrived before the N-ACTION-RSP";
            std::string report_error;
            answer.report =
                answer_event_report(association.assoc, msg_pres_id, msg.msg.NEventReportRQ,
                                    seconds_left(deadline), report_error);
            if (!answer.report) {
                answer.error += (answer.error.empty() ? "" : "; ") + report_error;
                break;
            }
            want_report = false;
        } else {
            answer.error = "unexpected DIMSE message, command field " +
                           hex4(static_cast<uint16_t>(msg.CommandField)) + " while awaiting the " +
                           awaited;
            return answer;
        }
    }

    const std::string release_error = release(association);
    if (answer.error.empty()) answer.error = release_error;
    return answer;
}

std::optional<CommitmentReport> receive_commitment_report(uint16_t port,
                                                          const std::string& ae_title,
                                                          int timeout_s) {
    const Clock::time_point deadline = deadline_after(timeout_s);
    Network network;
    // The network timeout bounds each ACSE step, such as the wait for the A-ASSOCIATE-RQ PDU.
    const OFCondition cond =
        ASC_initializeNetwork(NET_ACCEPTOR, port, seconds_left(deadline), &network.net);
    if (cond.bad()) {
        note("listening on port " + std::to_string(port) + ": " + text(cond));
        return std::nullopt;
    }
    while (Clock::now() < deadline) {
        Association association;
        const OFCondition received =
            ASC_receiveAssociation(network.net, &association.assoc, ASC_DEFAULTMAXPDU, nullptr,
                                   nullptr, OFFalse, DUL_NOBLOCK, seconds_left(deadline));
        if (received == DUL_NOASSOCIATIONREQUEST) break;  // nothing connected in time
        // DCMTK 3.6.7 reports a connection closed before any A-ASSOCIATE-RQ (a port probe) as
        // success with empty parameters; an RQ always proposes at least one context.
        if (received.bad() || ASC_countPresentationContexts(association.assoc->params) == 0) {
            continue;
        }
        return serve_report(association, ae_title, deadline);
    }
    note("no association within " + std::to_string(std::max(timeout_s, 1)) + " s");
    return std::nullopt;
}

}  // namespace countylink::testing

#include "gateway/dicom/commitment_report_scu.hpp"

#include <algorithm>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/server/run_on.hpp"

namespace countylink::dicom {

namespace asio = boost::asio;
namespace cd = codecs::dicom;
using asio::awaitable;

Command commitment_report_command(uint16_t message_id, const cd::CommitmentReport& r) {
    Command cmd;
    cmd.command_field = static_cast<uint16_t>(CommandField::n_event_report_rq);
    cmd.affected_sop_class_uid = std::string(cd::kStorageCommitmentSopClass);
    cmd.affected_sop_instance_uid = std::string(cd::kStorageCommitmentSopInstance);
    cmd.message_id = message_id;
    cmd.data_set_type = 0x0000;
    cmd.event_type_id = r.event_type();
    return cmd;
}

awaitable<void> send_commitment_report(asio::any_io_executor executor, asio::thread_pool& workers,
                                       const ScuPeer& peer, const cd::CommitmentReport& report) {
    AssociateRq rq = association_request(peer);
    const std::string sop_class(cd::kStorageCommitmentSopClass);
    rq.contexts.push_back({1, sop_class, {"1.2.840.10008.1.2.1", "1.2.840.10008.1.2"}});
    RoleSelection role;  // we report, so we are the SCP of the SOP class here
    role.sop_class_uid = sop_class;
    role.scu = false;
    role.scp = true;
    rq.user.roles.push_back(role);

    ScuLink link(executor, peer.timeout);
    co_await link.connect(peer.host, peer.port);
    const AssociateAc ac = co_await link.associate(rq);
    // PS3.7 D.3.3.4 would have it echo our SCP role; consoles that leave the item out still
    // take reports in practice, so only the context is required.
    const auto context = std::find_if(ac.contexts.begin(), ac.contexts.end(),
                                      [](const auto& pc) { return pc.id == 1; });
    if (context == ac.contexts.end() || context->result != ContextResult::acceptance) {
        co_await link.release();
        throw AssociationFailed("it does not accept Storage Commitment reports");
    }
    const std::string syntax = context->transfer_syntax;
    const auto dataset = co_await server::run_on(
        workers, [&report, &syntax] { return cd::encode_commitment_report(report, syntax); });
    auto pdus = encode_p_data_fragments(
        1, true, encode_command(commitment_report_command(1, report)), ac.user.max_pdu_length);
    auto data_pdus = encode_p_data_fragments(1, false, dataset, ac.user.max_pdu_length);
    for (auto& pdu : pdus) co_await link.write(pdu);
    for (auto& pdu : data_pdus) co_await link.write(pdu);
    const Command rsp = co_await link.read_command();
    co_await link.release();
    const uint16_t status = rsp.status.value_or(0xFFFF);
    if (rsp.command_field != static_cast<uint16_t>(CommandField::n_event_report_rsp) ||
        status != 0) {
        throw AssociationFailed("it answered the report with status " + std::to_string(status));
    }
}

awaitable<void> deliver_commitment_report(asio::any_io_executor executor,
                                          asio::thread_pool& workers, ScuPeer peer,
                                          cd::CommitmentReport report, int attempts,
                                          std::chrono::seconds first_wait,
                                          std::function<void(const std::string&)> done) {
    std::string error;
    auto wait = first_wait;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
        try {
            co_await send_commitment_report(executor, workers, peer, report);
            done({});
            co_return;
        } catch (const std::exception& e) {
            error = e.what();
        }
        if (attempt == attempts) break;
        asio::steady_timer timer(executor, wait);
        co_await timer.async_wait(asio::use_awaitable);
        wait *= 2;
    }
    done(error);
}

}  // namespace countylink::dicom

// Storage Commitment reports (N-EVENT-REPORT, PS3.4 J.3.3) on an association of our own, for
// equipment that closes the association it asked on: we call it back, proposing the Storage
// Commitment Push Model in the SCP role, and retry a while if it does not answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "codecs/dicom/storage_commitment.hpp"
#include "gateway/dicom/dimse.hpp"
#include "gateway/dicom/scu_link.hpp"

namespace countylink::dicom {

// The N-EVENT-REPORT-RQ command for a report (its dataset follows).
Command commitment_report_command(uint16_t message_id, const codecs::dicom::CommitmentReport& r);

// Sends `report` to `peer` once (encoded on `workers`) and waits for its N-EVENT-REPORT-RSP;
// throws AssociationFailed when the association fails or the status is not success.
boost::asio::awaitable<void> send_commitment_report(boost::asio::any_io_executor executor,
                                                    boost::asio::thread_pool& workers,
                                                    const ScuPeer& peer,
                                                    const codecs::dicom::CommitmentReport& report);

// Sends `report` with `attempts` tries, `first_wait` doubling between them; `done(error)` is
// called once at the end (error empty: delivered). Reports are kept in memory only: a restart
// drops the undelivered ones, and equipment asks again (PS3.4 J.3.3 leaves retrying to it).
boost::asio::awaitable<void> deliver_commitment_report(
    boost::asio::any_io_executor executor, boost::asio::thread_pool& workers, ScuPeer peer,
    codecs::dicom::CommitmentReport report, int attempts, std::chrono::seconds first_wait,
    std::function<void(const std::string&)> done);

}  // namespace countylink::dicom

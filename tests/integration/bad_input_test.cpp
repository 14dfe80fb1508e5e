// Bad input of every kind gets a clear answer, lands in quarantine when it is an object, and
// never stops the gateway from serving the next client.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <regex>

#include "gateway/dicom/pdu.hpp"
#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

using namespace std::chrono_literals;

std::string gw_args(const Gateway& gw) {
    return " -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) + " ";
}

void expect_echo_works(const Gateway& gw) {
    const auto r = run("echoscu" + gw_args(gw));
    EXPECT_EQ(r.exit_code, 0) << "echoscu after bad input failed:\n" << r.output;
}

// The A-ABORT we expect: 07 00 | length 4 | 00 00 | source 2 (provider) | reason.
std::vector<std::byte> abort_pdu(uint8_t reason) {
    return dicom::encode(dicom::Abort{2, reason});
}

std::vector<std::byte> associate_rq() {
    return dicom::encode(verification_rq("RAWTEST"));
}

struct Sent {
    bool sent = false;
    std::string status, output;
};

// dcmsend proposes each file in its own transfer syntax; storescu also sends files without a
// meta header, which dcmsend refuses. A file either can send counts as sendable.
Sent send_any_way(const Gateway& gw, const fs::path& file) {
    // With -d both tools print the response's "DIMSE Status : 0xb007: Warning: ...".
    static const std::regex response(R"(DIMSE Status\s*:\s*0x([0-9a-fA-F]{4}))");
    for (const std::string sender : {"dcmsend -d", "storescu -R -d"}) {
        auto r = run(sender + gw_args(gw) + "'" + file.string() + "'");
        const bool sent = r.output.find("Sending C-STORE Request") != std::string::npos ||
                          r.output.find("Sending Store Request") != std::string::npos;
        if (!sent) continue;
        std::smatch m;
        std::string status = std::regex_search(r.output, m, response) ? m[1].str() : "";
        return {true, status, std::move(r.output)};
    }
    return {};
}

TEST(BadInput, EveryBadCorpusFileGetsAStatusAndRefusalsAreQuarantined) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    int sent = 0, refused = 0;
    for (const auto& entry : fs::directory_iterator(shared_dir() / "corpus" / "dicom-bad")) {
        const auto file = entry.path();
        const Sent s = send_any_way(gw, file);
        if (!s.sent) continue;
        ++sent;
        ASSERT_FALSE(s.status.empty()) << file << " got no status:\n" << s.output;
        const bool success = s.status == "0000";
        const bool warning = s.status[0] == 'b' || s.status[0] == 'B';
        if (!success && !warning) ++refused;
        if (!success) {
            EXPECT_NE(s.output.find("ErrorComment"), std::string::npos)
                << file << ": status " << s.status << " without a reason:\n"
                << s.output;
        }
    }
    EXPECT_GE(sent, 10);
    EXPECT_GE(refused, 2);
    const auto q = gw.get("/api/v1/quarantine");
    ASSERT_EQ(q.status, 200);
    std::size_t items = 0;
    for (std::size_t at = 0; (at = q.body.find("\"finding\"", at)) != std::string::npos; ++at) {
        ++items;
    }
    EXPECT_EQ(items, static_cast<std::size_t>(refused)) << q.body;
    expect_echo_works(gw);
}

TEST(BadInput, PaddedPixelDataIsStoredWithAWarning) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto file = shared_dir() / "corpus" / "dicom-bad" / "MR_small_padded.dcm";
    const auto r = run("dcmsend -d" + gw_args(gw) + "'" + file.string() + "'");
    EXPECT_NE(r.output.find("DIMSE Status                  : 0xb007"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("Pixel Data too long"), std::string::npos) << r.output;
}

TEST(BadInput, GarbageBytesGetAnAbortAndTheServerGoesOn) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    RawClient garbage(gw.dicom_port());
    garbage.send(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto reply = garbage.read_until_closed(10s);
    EXPECT_EQ(reply, abort_pdu(1)) << "expected A-ABORT, reason unrecognized PDU";
    expect_echo_works(gw);
}

TEST(BadInput, FourGigabyteLengthIsAbortedAtOnce) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    RawClient client(gw.dicom_port());
    client.send(std::vector<std::byte>{std::byte{0x01}, std::byte{0}, std::byte{0xff},
                                       std::byte{0xff}, std::byte{0xff}, std::byte{0xff}});
    EXPECT_EQ(client.read_until_closed(10s), abort_pdu(6));
    expect_echo_works(gw);
}

TEST(BadInput, FourGigabytePDataInsideAnAssociationIsAborted) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    RawClient client(gw.dicom_port());
    client.send(associate_rq());
    // The A-ASSOCIATE-AC comes first, then our abort for the absurd P-DATA length.
    client.send(std::vector<std::byte>{std::byte{0x04}, std::byte{0}, std::byte{0xff},
                                       std::byte{0xff}, std::byte{0xff}, std::byte{0xf0}});
    const auto reply = client.read_until_closed(10s);
    ASSERT_GE(reply.size(), 10u);
    EXPECT_EQ(reply[0], std::byte{0x02}) << "expected A-ASSOCIATE-AC first";
    const std::vector<std::byte> tail(reply.end() - 10, reply.end());
    EXPECT_EQ(tail, abort_pdu(6));
    expect_echo_works(gw);
}

TEST(BadInput, TruncatedPduThenCloseLeavesTheServerServing) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    auto rq = associate_rq();
    rq.resize(rq.size() / 2);
    {
        RawClient client(gw.dicom_port());
        client.send(rq);
        client.close_write();
        client.read_until_closed(10s);
    }
    expect_echo_works(gw);
    EXPECT_NE(gw.log().find("connection_closed"), std::string::npos) << gw.log();
}

TEST(BadInput, SilentClientIsDroppedAfterArtimTimeout) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data", "[dicom]\nartim_timeout_s = 1\n");
    RawClient client(gw.dicom_port());
    const auto start = std::chrono::steady_clock::now();
    const auto reply = client.read_until_closed(20s);
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(reply, abort_pdu(0));
    EXPECT_LT(waited, 10s) << "the ARTIM timer did not fire";
    expect_echo_works(gw);
}

TEST(BadInput, GarbageDoesNotDisturbAConcurrentTransfer) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto file = shared_dir() / "corpus" / "dicom" / "eCT_Supplemental.dcm";
    // A slow transfer (4 KiB PDUs) runs while garbage connections come and go.
    auto transfer = std::async(std::launch::async, [&] {
        return run("storescu -R --max-send-pdu 4096 --repeat 20" + gw_args(gw) + "'" +
                   file.string() + "'");
    });
    for (int i = 0; i < 20; ++i) {
        RawClient garbage(gw.dicom_port());
        garbage.send(std::string(64, '\xff'));
        EXPECT_EQ(garbage.read_until_closed(10s), abort_pdu(1));
    }
    const auto r = transfer.get();
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find("Store Failed"), std::string::npos) << r.output;
}

TEST(BadInput, WrongCalledAeIsRejectedWithItsReason) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto r = run("echoscu -aec NOT_US 127.0.0.1 " + std::to_string(gw.dicom_port()));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("Called AE Title Not Recognized"), std::string::npos) << r.output;
    expect_echo_works(gw);
}

TEST(BadInput, ProductionConfigRefusesUnknownCallingAe) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data",
               "[dicom]\naccept_unregistered = false\n[[townships]]\nname = \"Dongshan\"\n"
               "ae_titles = [\"DONGSHAN_CT\"]\n");
    const auto refused = run("echoscu -aet STRANGER" + gw_args(gw));
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.output.find("Calling AE Title Not Recognized"), std::string::npos)
        << refused.output;
    const auto file = shared_dir() / "corpus" / "dicom" / "CT_small.dcm";
    const auto known = run("storescu -aet DONGSHAN_CT" + gw_args(gw) + "'" + file.string() + "'");
    EXPECT_EQ(known.exit_code, 0) << known.output;
    const auto metrics = gw.get("/metrics");
    EXPECT_NE(
        metrics.body.find(
            R"(countylink_objects_total{outcome="stored",township="Dongshan",modality="CT"} 1)"),
        std::string::npos)
        << metrics.body;
}

}  // namespace
}  // namespace countylink::testing

namespace countylink::testing {
namespace {

TEST(BadInput, PeerAbortEndsTheAssociationQuietly) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    {
        RawClient client(gw.dicom_port());
        client.send(associate_rq());
        client.send(dicom::encode(dicom::Abort{0, 0}));
        const auto reply = client.read_until_closed(10s);
        ASSERT_FALSE(reply.empty());
        EXPECT_EQ(reply[0], std::byte{0x02}) << "A-ASSOCIATE-AC, then nothing but the close";
    }
    expect_echo_works(gw);
    EXPECT_NE(gw.log().find("ended: aborted_by_peer"), std::string::npos) << gw.log();
}

TEST(BadInput, ObjectOverTheSizeLimitIsRefusedWithOutOfResources) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data", "[dicom]\nmax_object_bytes = 100000\n");
    const auto big = shared_dir() / "corpus" / "dicom" / "eCT_Supplemental.dcm";  // ~1 MB
    const auto r = run("dcmsend -d" + gw_args(gw) + "'" + big.string() + "'");
    EXPECT_NE(r.output.find("0xa700"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("larger than the gateway"), std::string::npos) << r.output;
    // The association goes on: the next, smaller object in it is stored.
    const auto small = shared_dir() / "corpus" / "dicom" / "MR_small.dcm";
    const auto both =
        run("storescu -v -R -nh" + gw_args(gw) + "'" + big.string() + "' '" + small.string() + "'");
    EXPECT_NE(both.output.find("Received Store Response (Success)"), std::string::npos)
        << both.output;
    EXPECT_NE(gw.log().find("released after 1 objects"), std::string::npos) << gw.log();
}

}  // namespace
}  // namespace countylink::testing

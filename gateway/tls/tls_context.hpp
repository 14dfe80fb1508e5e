// TLS for the listeners: server contexts built from the configured PEM files with the BCP 195
// profile (TLS 1.2 and 1.3 only, AEAD suites with forward secrecy), the peer certificate of a
// connection, and the set of contexts that SIGHUP replaces for new connections.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <openssl/ssl.h>
#include <boost/asio/ssl/context.hpp>

#include "config/config.hpp"

namespace countylink::tls {

// What the peer's (verified) certificate says; all empty when it sent none.
struct PeerCertificate {
    std::string subject;       // one line, RFC 2253 order ("CN=dongshan-ct,O=Dongshan")
    std::string common_name;   // CN
    std::string organization;  // O: names the township for DICOM TLS
};

// The TLS 1.2 cipher suites offered (OpenSSL names, in our order of preference): BCP 195 as
// DCMTK's default "non-downgrading" profile, AES-GCM with ECDHE or DHE. TLS 1.3 suites are
// OpenSSL's defaults, all AEAD with forward secrecy.
inline constexpr const char* tls12_cipher_suites =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

enum class ClientCertificates {
    optional,  // asked for and verified if sent (HTTPS: tokens work as well)
    required   // no certificate, no connection (DICOM TLS)
};

// A server context: TLS 1.2 and 1.3 only, the BCP 195 cipher suites, our certificate and key,
// client certificates verified against tls.ca when set. Throws std::runtime_error naming the
// file at fault.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const config::TlsSettings& tls,
                                                               ClientCertificates clients);

// The certificate of the peer of an established connection (nullptr `ssl`: none).
PeerCertificate peer_certificate(SSL* ssl);

// A certificate's subject on one line, RFC 2253 order; empty for nullptr.
std::string subject_of(X509* cert);

// Why a handshake failed, in words: the TLS error and, when verification refused the peer's
// certificate, the verifier's reason ("certificate has expired") and the subject `presented`
// (TlsOrPlain::refused_certificate), if any.
std::string handshake_failure(SSL* ssl, const boost::system::error_code& ec,
                              const std::string& presented);

// The notAfter of the first certificate in a PEM file, as Unix seconds. Throws when unreadable.
int64_t certificate_not_after(const std::string& pem_file);

// The contexts new connections get. Built at start (throws on bad files); reload() builds new
// ones from the same paths and swaps them in, or keeps the old ones and says why not.
// Connections keep the context they started with, so a reload drops none of them.
class TlsContexts {
  public:
    explicit TlsContexts(const config::Config& config);

    // Re-reads the certificate, key and CA files; nullopt on success, else the reason.
    std::optional<std::string> reload();
    // nullptr when that listener has no TLS.
    std::shared_ptr<boost::asio::ssl::context> dicom() const;
    std::shared_ptr<boost::asio::ssl::context> http() const;
    // notAfter of our certificate (Unix seconds); 0 when TLS is off.
    int64_t not_after() const;

  private:
    void build();

    const config::Config& config_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> dicom_, http_;
    int64_t not_after_ = 0;
};

}  // namespace countylink::tls

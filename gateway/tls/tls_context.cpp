#include "gateway/tls/tls_context.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <stdexcept>

namespace countylink::tls {

namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown error";
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
}

std::string name_entry(X509_NAME* name, int nid) {
    const int at = X509_NAME_get_index_by_NID(name, nid, -1);
    if (at < 0) return {};
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n < 0) return {};
    std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
    return out;
}

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};

}  // namespace

std::shared_ptr<ssl::context> make_server_context(const config::TlsSettings& tls,
                                                  ClientCertificates clients) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
        throw std::runtime_error("TLS: cannot restrict protocol versions: " + openssl_error());
    }
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                     ssl::context::single_dh_use);
    SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(native, tls12_cipher_suites) != 1) {
        throw std::runtime_error("TLS: cipher list refused: " + openssl_error());
    }
    SSL_CTX_set_dh_auto(native, 1);
    if (SSL_CTX_use_certificate_chain_file(native, tls.certificate.c_str()) != 1) {
        throw std::runtime_error("tls.certificate: cannot load '" + tls.certificate +
                                 "': " + openssl_error());
    }
    if (SSL_CTX_use_PrivateKey_file(native, tls.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
        throw std::runtime_error("tls.private_key: cannot load '" + tls.private_key +
                                 "': " + openssl_error());
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        throw std::runtime_error("tls.private_key: '" + tls.private_key +
                                 "' does not belong to tls.certificate '" + tls.certificate + "'");
    }
    if (!tls.ca.empty()) {
        if (SSL_CTX_load_verify_locations(native, tls.ca.c_str(), nullptr) != 1) {
            throw std::runtime_error("tls.ca: cannot load '" + tls.ca + "': " + openssl_error());
        }
        // The CA names sent in the CertificateRequest help clients pick the right certificate.
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.ca.c_str())) {
            SSL_CTX_set_client_CA_list(native, names);
        }
        int mode = SSL_VERIFY_PEER;
        if (clients == ClientCertificates::required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(native, mode, nullptr);
        SSL_CTX_set_verify_depth(native, 4);
    } else if (clients == ClientCertificates::required) {
        throw std::runtime_error("tls.ca: needed to verify client certificates");
    }
    // No session tickets or cache: every connection presents (and we verify) its certificate.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(native, 0);
    return ctx;
}

std::string subject_of(X509* cert) {
    if (!cert) return {};
    std::string out;
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (bio &&
        X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio.get(), &data);
        if (n > 0) out.assign(data, static_cast<std::size_t>(n));
    }
    return out;
}

PeerCertificate peer_certificate(SSL* ssl) {
    PeerCertificate out;
    if (!ssl) return out;
    std::unique_ptr<X509, X509Free> cert(SSL_get1_peer_certificate(ssl));
    if (!cert) return out;
    X509_NAME* subject = X509_get_subject_name(cert.get());
    out.common_name = name_entry(subject, NID_commonName);
    out.organization = name_entry(subject, NID_organizationName);
    out.subject = subject_of(cert.get());
    return out;
}

std::string handshake_failure(SSL* ssl, const boost::system::error_code& ec,
                              const std::string& presented) {
    std::string why = ec.message();
    if (ssl) {
        const long verify = SSL_get_verify_result(ssl);
        if (verify != X509_V_OK) {
            why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
        }
    }
    // Who tried, for the audit trail; not verified, so not an identity.
    if (!presented.empty()) why += "; presented " + presented;
    return why;
}

int64_t certificate_not_after(const std::string& pem_file) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_file(pem_file.c_str(), "r"));
    if (!bio) throw std::runtime_error("cannot read certificate '" + pem_file + "'");
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) throw std::runtime_error("no PEM certificate in '" + pem_file + "'");
    struct tm when {};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &when) != 1) {
        throw std::runtime_error("unreadable notAfter in '" + pem_file + "'");
    }
    return static_cast<int64_t>(timegm(&when));
}

TlsContexts::TlsContexts(const config::Config& config) : config_(config) {
    build();
}

void TlsContexts::build() {
    std::shared_ptr<ssl::context> dicom, http;
    int64_t not_after = 0;
    if (config_.dicom.tls) {
        dicom = make_server_context(config_.tls, ClientCertificates::required);
    }
    if (config_.http.tls) http = make_server_context(config_.tls, ClientCertificates::optional);
    if (dicom || http) not_after = certificate_not_after(config_.tls.certificate);
    std::lock_guard lock(mutex_);
    dicom_ = std::move(dicom);
    http_ = std::move(http);
    not_after_ = not_after;
}

std::optional<std::string> TlsContexts::reload() {
    try {
        build();
        return std::nullopt;
    } catch (const std::exception& e) {
        return std::string(e.what());
    }
}

std::shared_ptr<ssl::context> TlsContexts::dicom() const {
    std::lock_guard lock(mutex_);
    return dicom_;
}

std::shared_ptr<ssl::context> TlsContexts::http() const {
    std::lock_guard lock(mutex_);
    return http_;
}

int64_t TlsContexts::not_after() const {
    std::lock_guard lock(mutex_);
    return not_after_;
}

}  // namespace countylink::tls

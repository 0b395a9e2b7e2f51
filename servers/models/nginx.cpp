// nginx — the reference row: Debian's nginx (nginx-light is enough) with a
// generated configuration, started and stopped by `cmbench serve` through
// the external-server mechanism (servers/external.hpp). N worker processes
// (--threads, default one per core), each an epoll loop on the shared
// listener (accept_mutex off: EPOLLEXCLUSIVE on Linux), `return 200` with
// the hello body, no access log. It serves only the hello workload: the
// query string is ignored, and it keeps no counters of ours.
// Good at: what people actually deploy; the yardstick for every other row.
// Breaks: nothing of the handler runs, so it is a floor for cheap requests,
// not a model of blocking or CPU work.

#include "servers/external.hpp"

namespace cmb::servers {
namespace {

constexpr const char* kConfig = R"(# Written by cmbench for one run.
worker_processes {threads};
pid {dir}/nginx.pid;
error_log stderr warn;
events {
  worker_connections {max_connections};
}
http {
  access_log off;
  server_tokens off;
  keepalive_requests 1000000000;
  keepalive_timeout {header_timeout_ms}ms;
  client_header_timeout {header_timeout_ms}ms;
  client_body_timeout {header_timeout_ms}ms;
  client_body_temp_path {dir}/client_body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {
    listen {address};
    location / {
      default_type text/plain;
      return 200 "Hello, World!";
    }
  }
}
)";

}  // namespace

std::string nginx_unavailable_reason() {
  return find_program("nginx").empty() ? "nginx is not installed (Debian: apt-get install "
                                         "nginx-light)"
                                       : "";
}

std::unique_ptr<Server> make_nginx_server(const ServerConfig& config) {
  ExternalCommand command;
  command.argv = {find_program("nginx"),
                  "-p",
                  "{dir}",
                  "-c",
                  "{dir}/nginx.conf",
                  "-e",
                  "stderr",
                  "-g",
                  "daemon off; master_process on;"};
  command.files = {{"nginx.conf", kConfig}};
  return make_external_server(config, command);
}

}  // namespace cmb::servers

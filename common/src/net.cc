#include "canvoy/common/net.h"

#include <unistd.h>

#include <fstream>

namespace canvoy::net {

Status Listen(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address, std::uint16_t port,
              const std::string& what) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return Error(Errc::kInvalidArgument, what + " address '" + address + "': " + ec.message());
  const asio::ip::tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(Errc::kIo, what + ": listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
  }
  return OkStatus();
}

Status WritePortFile(const std::filesystem::path& path, std::uint16_t port) {
  if (path.empty()) return OkStatus();
  const std::string tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return Error(Errc::kIo, "port file '" + tmp + "': cannot be written");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Error(Errc::kIo, "port file '" + path.string() + "': " + ec.message());
  return OkStatus();
}

}  // namespace canvoy::net

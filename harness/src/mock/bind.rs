//! Where mocks listen so that containers reach them: the Docker bridge's gateway address (what
//! `host-gateway` resolves to inside containers), not every interface of the machine.

use std::net::{IpAddr, Ipv4Addr, TcpListener};

use bollard::Docker;

use crate::error::{HarnessError, Result};

/// The host name containers use for the machine running the mocks.
pub const HOST_ALIAS: &str = "host.docker.internal";

/// The address to bind: `CODITECT_MOCK_ADDR`, else the default bridge's gateway, else all interfaces
/// (a remote `DOCKER_HOST` needs `CODITECT_MOCK_ADDR` set to an address its containers can reach).
pub async fn address(docker: &Docker) -> IpAddr {
    if let Some(addr) = std::env::var("CODITECT_MOCK_ADDR").ok().and_then(|a| a.parse().ok()) {
        return addr;
    }
    let gateway = docker
        .inspect_network("bridge", None::<bollard::query_parameters::InspectNetworkOptions>)
        .await
        .ok()
        .and_then(|n| n.ipam)
        .and_then(|ipam| ipam.config)
        .and_then(|configs| configs.into_iter().find_map(|c| c.gateway))
        .and_then(|g| g.parse().ok());
    gateway.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// A listener on a free port of `addr`.
pub fn listener(addr: IpAddr) -> Result<TcpListener> {
    TcpListener::bind((addr, 0)).map_err(HarnessError::io("bind a mock server on", addr.to_string()))
}

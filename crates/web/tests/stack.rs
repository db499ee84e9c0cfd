//! The web API, unchanged, on a simulated device's userspace TCP/IP stack: a second host on
//! the same virtual LAN changes and reads a tag with plain HTTP/1.1 requests.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use cpppo_enip::model::attribute::StoredData;
use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::runtime::control::ServerControl;
use cpppo_net::stack::{Buffers, Net, NetConnector};
use cpppo_net::Connector;
use cpppo_web::Web;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request on a fresh connection; the status code and the body.
async fn get(connector: &NetConnector, path: &str) -> (u16, String) {
    let mut s = connector.connect("10.9.0.2:80").await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 10.9.0.2\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).await.unwrap();
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap();
    let body = reply.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

#[tokio::test]
async fn api_over_a_userspace_stack() {
    let net = Net::new(Buffers::default());
    let driver = tokio::spawn(net.run());
    let mac = |n: u8| [2, 0, 10, 9, 0, n];
    let device_host = net
        .add_host(mac(2), Ipv4Addr::new(10, 9, 0, 2), 24, None)
        .unwrap();
    let client_host = net
        .add_host(mac(3), Ipv4Addr::new(10, 9, 0, 3), 24, None)
        .unwrap();

    let control = Arc::new(ServerControl::default());
    let mut device = Device::new(&DeviceConfig::default());
    let attr = control.guard(
        "SCADA",
        Arc::new(StoredData::new(cpppo_cip::DataType::Int, 4, true)),
    );
    device.add_tag_attribute("SCADA", attr, None).unwrap();
    let web = Web {
        device: Arc::new(device),
        control,
        token: None,
        read_only: false,
    };
    let listener = net.listen_tcp(device_host, 80).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cpppo_web::serve(listener, web, async {
        let _ = stopped.await;
    }));

    let client = net.connector(client_host);
    let run = async {
        let (status, body) = get(&client, "/api/tags/SCADA/attribute[2]=42").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = get(&client, "/api/tags/SCADA").await;
        assert_eq!(status, 200, "{body}");
        let env: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            env["data"]["tags"]["SCADA"]["values"],
            serde_json::json!([0, 0, 42, 0])
        );
        let (status, body) = get(&client, "/api/nosuchgroup").await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = get(&client, "/metrics").await;
        assert_eq!(status, 200);
        assert!(body.contains("# TYPE"), "{body}");
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the web API answers over the userspace stack");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    driver.abort();
}

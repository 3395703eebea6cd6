//! The services `scripts/test.sh` starts, found by their URL variables. Shared by the
//! workspace's end-to-end tests and the runtime's integration tests.

/// The URL in `var`. Without it a test is skipped — except under CI, where a missing
/// service is a failure, never a silent pass.
pub fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but {var} is not set: run the tests through scripts/test.sh")
        }
        Err(_) => {
            eprintln!("SKIPPED: {var} is not set; run scripts/test.sh to start the service");
            None
        }
    }
}

/// A client of the PostgreSQL at `url`, its connection driven on `rt`.
pub fn pg_client(rt: &tokio::runtime::Runtime, url: &str) -> tokio_postgres::Client {
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test PostgreSQL");
        tokio::spawn(conn);
        client
    })
}

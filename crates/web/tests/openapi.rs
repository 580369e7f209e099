//! The OpenAPI document and the router come from the same route tables:
//! every documented path and method is served (not 404/405), every other
//! method on a documented path is 405, and paths outside the document are
//! 404. A route added to the router outside the tables fails the first or
//! last check when it shadows or extends a documented path.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use callward_web::metrics::Registry;
use callward_web::{AppState, api, router};
use serde_json::Value;
use tower::ServiceExt as _;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn status(method: &str, path: &str) -> (StatusCode, Value) {
    let app = router(AppState::new(Registry::new()).unwrap());
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let response = app
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A concrete path for a templated one.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "1" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn document_and_router_list_the_same_routes() {
    let doc = api::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let table: Vec<(String, String)> = api::routes_table()
        .map(|r| (r.method.to_owned(), format!("/api/v1{}", r.path)))
        .collect();
    let mut documented = Vec::new();
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    let (mut a, mut b) = (table.clone(), documented.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b, "route table and document differ");
    assert!(table.len() >= 15, "{table:?}");

    for (path, ops) in paths {
        let ops = ops.as_object().unwrap();
        let uri = concrete(path);
        for method in METHODS {
            let (status, body) = status(method, &uri).await;
            if ops.contains_key(method) {
                assert_ne!(status, StatusCode::NOT_FOUND, "{method} {uri} documented");
                assert_ne!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {uri} documented"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {uri} undocumented"
                );
                assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
            }
        }
    }
}

#[tokio::test]
async fn undocumented_paths_are_json_404() {
    for path in [
        "/api/v1",
        "/api/v1/",
        "/api/v1/nope",
        "/api/v1/calls/1/recording/raw",
        "/api/v1/admin",
        "/api/v1/users",
        "/api/v2/calls",
        "/api/v1/openapi.yaml",
    ] {
        for method in ["get", "post"] {
            let (status, body) = status(method, path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(
                body["error"]["code"], "not_found",
                "{method} {path}: {body}"
            );
            assert!(body["error"]["message"].is_string(), "{body}");
        }
    }
}

#[tokio::test]
async fn openapi_json_is_served_and_is_the_document() {
    let (status, body) = status("get", "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, api::document());
    assert!(body["paths"]["/api/v1/calls"]["get"].is_object(), "{body}");
    assert!(
        body["components"]["securitySchemes"]["bearer"].is_object(),
        "{body}"
    );
}

#[tokio::test]
async fn signed_in_routes_without_a_session_service_are_json_errors() {
    let (status, body) = status("get", "/api/v1/me").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
}

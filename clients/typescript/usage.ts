// How the generated types are used, type-checked in CI against a fresh `schema.d.ts`: renaming
// a schema, an operation id or a field the code relies on breaks the build, not the users.
import type { components, operations } from "./schema";

type ItemRead = components["schemas"]["ItemRead"];
type ItemCreate = components["schemas"]["ItemCreate"];
type ErrorBody = components["schemas"]["ErrorBody"];
type ListQuery = NonNullable<operations["list_items"]["parameters"]["query"]>;
type ItemPage = operations["list_items"]["responses"][200]["content"]["application/json"];

async function call<T>(url: string, token: string, init: RequestInit = {}): Promise<T> {
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  const response = await fetch(url, { ...init, headers });
  if (!response.ok) {
    const error = (await response.json()) as ErrorBody;
    throw new Error(`${error.error_code}: ${error.detail} (${error.correlation_id})`);
  }
  return (await response.json()) as T;
}

export function createItem(baseUrl: string, token: string, item: ItemCreate): Promise<ItemRead> {
  return call(`${baseUrl}/api/v1/items`, token, { method: "POST", body: JSON.stringify(item) });
}

/** Every item: the first page, then `next_cursor` until there is none (keyset paging). */
export async function allItems(baseUrl: string, token: string): Promise<ItemRead[]> {
  const items: ItemRead[] = [];
  let query: ListQuery = { limit: 100 };
  for (;;) {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.cursor) params.set("cursor", query.cursor);
    const page = await call<ItemPage>(`${baseUrl}/api/v1/items?${params}`, token);
    items.push(...page.items);
    if (!page.next_cursor) return items;
    query = { ...query, cursor: page.next_cursor };
  }
}

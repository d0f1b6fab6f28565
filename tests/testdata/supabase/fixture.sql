-- A database shaped like a Supabase project, for the recovery tests: platform
-- roles owning schemas, API roles named by RLS policies and grants,
-- extensions in their own schema, a range-partitioned audit log (identity
-- column, primary key on the parent, MINVALUE..MAXVALUE partitions) fed by a
-- trigger, an enum, a generated column, inheritance, foreign keys across
-- schemas, a SECURITY DEFINER function, a view and a publication.
-- Run as a superuser on a fresh cluster's database postgres. Row counts are
-- fixed (the tests compare them): see tests/support/supabase_fixture.cpp.

-- Roles as Supabase creates them (no passwords: the tests never log in as them).
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
ALTER ROLE authenticator SET statement_timeout TO '8s';
CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE;
CREATE ROLE supabase_storage_admin LOGIN NOINHERIT CREATEROLE;
CREATE ROLE dashboard_user NOLOGIN CREATEDB CREATEROLE REPLICATION;
COMMENT ON ROLE service_role IS 'API role that bypasses RLS; it''s for servers only';

CREATE SCHEMA extensions;
CREATE EXTENSION "uuid-ossp" WITH SCHEMA extensions;
CREATE EXTENSION pgcrypto WITH SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;

CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
CREATE SCHEMA storage AUTHORIZATION supabase_storage_admin;
GRANT USAGE ON SCHEMA auth, storage TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

-- auth, owned by supabase_auth_admin
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
CREATE TABLE auth.users (
  instance_id uuid,
  id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(),
  email text UNIQUE,
  encrypted_password text,
  raw_user_meta_data jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE auth.sessions (
  id uuid PRIMARY KEY DEFAULT extensions.gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user_id_idx ON auth.sessions (user_id);
ALTER FUNCTION auth.uid() OWNER TO supabase_auth_admin;
ALTER TABLE auth.users OWNER TO supabase_auth_admin;
ALTER TABLE auth.sessions OWNER TO supabase_auth_admin;
GRANT SELECT ON auth.users TO service_role;

INSERT INTO auth.users (id, email, encrypted_password, raw_user_meta_data, created_at)
SELECT extensions.uuid_generate_v5(extensions.uuid_ns_url(), 'user' || g),
       'user' || g || '@example.com', encode(extensions.digest('pw' || g, 'sha256'), 'hex'),
       jsonb_build_object('name', 'User ' || g), timestamptz '2026-01-01' + g * interval '1 minute'
FROM generate_series(1, 5000) g;
INSERT INTO auth.sessions (user_id, created_at)
SELECT extensions.uuid_generate_v5(extensions.uuid_ns_url(), 'user' || (1 + g % 5000)),
       timestamptz '2026-06-01' + g * interval '1 second'
FROM generate_series(1, 15000) g;

-- storage, owned by supabase_storage_admin
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL, public boolean DEFAULT false);
CREATE TABLE storage.objects (
  id uuid PRIMARY KEY DEFAULT extensions.gen_random_uuid(),
  bucket_id text REFERENCES storage.buckets(id),
  name text,
  owner uuid REFERENCES auth.users(id),
  metadata jsonb
);
ALTER TABLE storage.buckets OWNER TO supabase_storage_admin;
ALTER TABLE storage.objects OWNER TO supabase_storage_admin;
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
CREATE POLICY "owners read their objects" ON storage.objects FOR SELECT TO authenticated
  USING (owner = auth.uid());
GRANT ALL ON storage.objects, storage.buckets TO service_role;
GRANT SELECT ON storage.buckets TO anon, authenticated;
INSERT INTO storage.buckets VALUES ('avatars', 'avatars', true), ('media', 'media', false);
INSERT INTO storage.objects (bucket_id, name, owner, metadata)
SELECT CASE WHEN g % 2 = 0 THEN 'avatars' ELSE 'media' END, 'obj/' || g || '.png',
       extensions.uuid_generate_v5(extensions.uuid_ns_url(), 'user' || (1 + g % 5000)),
       jsonb_build_object('size', g)
FROM generate_series(1, 4000) g;

-- public: the application
CREATE TYPE public.app_role AS ENUM ('admin', 'editor', 'viewer');
CREATE TYPE public.post_status AS ENUM ('draft', 'published', 'archived');

CREATE TABLE public.profiles (
  id uuid PRIMARY KEY REFERENCES auth.users(id) ON DELETE CASCADE,
  role public.app_role NOT NULL DEFAULT 'viewer',
  first_name text,
  last_name text,
  full_name text GENERATED ALWAYS AS (coalesce(first_name, '') || ' ' || coalesce(last_name, '')) STORED,
  updated_at timestamptz
);
ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY "profiles are public" ON public.profiles FOR SELECT TO anon, authenticated USING (true);
CREATE POLICY "users update their own profile" ON public.profiles FOR UPDATE TO authenticated
  USING (auth.uid() = id) WITH CHECK (auth.uid() = id);

CREATE TABLE public.posts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  author_id uuid NOT NULL REFERENCES public.profiles(id),
  title text NOT NULL,
  body text,
  status public.post_status NOT NULL DEFAULT 'draft',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_author_idx ON public.posts (author_id);
ALTER TABLE public.posts ENABLE ROW LEVEL SECURITY;
CREATE POLICY "published posts are public" ON public.posts FOR SELECT TO anon, authenticated
  USING (status = 'published');
CREATE POLICY "authors manage their posts" ON public.posts FOR ALL TO authenticated
  USING (author_id = auth.uid()) WITH CHECK (author_id = auth.uid());

-- Inheritance (as older schemas use it): comments of every kind share a parent.
CREATE TABLE public.comments (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  post_id bigint NOT NULL REFERENCES public.posts(id),
  body text NOT NULL
);
CREATE TABLE public.flagged_comments (reason text NOT NULL) INHERITS (public.comments);

-- The audit log: range-partitioned, identity column, primary key on the
-- parent, partitions from MINVALUE to MAXVALUE, fed by a trigger.
CREATE TABLE public.audit_logs (
  id bigint GENERATED ALWAYS AS IDENTITY,
  created_at timestamptz NOT NULL DEFAULT now(),
  actor uuid,
  action text NOT NULL,
  detail jsonb,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE public.audit_logs_history PARTITION OF public.audit_logs FOR VALUES FROM (MINVALUE) TO ('2026-01-01');
CREATE TABLE public.audit_logs_2026 PARTITION OF public.audit_logs FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE public.audit_logs_future PARTITION OF public.audit_logs FOR VALUES FROM ('2027-01-01') TO (MAXVALUE);
CREATE INDEX audit_logs_actor_idx ON public.audit_logs (actor);
ALTER TABLE public.audit_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY "service role reads the audit log" ON public.audit_logs FOR SELECT TO service_role USING (true);

CREATE FUNCTION public.log_post_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = ''
AS $$
BEGIN
  INSERT INTO public.audit_logs (actor, action, detail, created_at)
  VALUES (NEW.author_id, TG_OP || ' post', jsonb_build_object('post', NEW.id, 'title', NEW.title), NEW.created_at);
  RETURN NEW;
END
$$;
CREATE TRIGGER posts_audit AFTER INSERT OR UPDATE ON public.posts
  FOR EACH ROW EXECUTE FUNCTION public.log_post_change();

CREATE VIEW public.published_posts WITH (security_invoker = true) AS
  SELECT p.id, p.title, pr.full_name AS author FROM public.posts p JOIN public.profiles pr ON pr.id = p.author_id
  WHERE p.status = 'published';

GRANT SELECT ON public.profiles, public.posts, public.published_posts, public.comments TO anon;
GRANT ALL ON ALL TABLES IN SCHEMA public TO authenticated, service_role;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO authenticated, service_role;

CREATE PUBLICATION supabase_realtime FOR TABLE public.posts, public.profiles;

-- Data: profiles for every user, posts (the trigger writes one audit row per
-- post), comments, and audit history in every partition.
INSERT INTO public.profiles (id, role, first_name, last_name)
SELECT extensions.uuid_generate_v5(extensions.uuid_ns_url(), 'user' || g),
       (ARRAY['admin', 'editor', 'viewer'])[1 + g % 3]::public.app_role, 'First' || g, 'Last' || g
FROM generate_series(1, 5000) g;
INSERT INTO public.posts (author_id, title, body, status, created_at)
SELECT extensions.uuid_generate_v5(extensions.uuid_ns_url(), 'user' || (1 + g % 5000)), 'Post ' || g,
       repeat(md5(g::text), 8), (ARRAY['draft', 'published', 'archived'])[1 + g % 3]::public.post_status,
       timestamptz '2026-02-01' + g * interval '5 minutes'
FROM generate_series(1, 40000) g;
INSERT INTO public.comments (post_id, body) SELECT 1 + g % 40000, 'comment ' || g FROM generate_series(1, 20000) g;
INSERT INTO public.flagged_comments (id, post_id, body, reason)
SELECT 100000 + g, 1 + g % 40000, 'flagged ' || g, 'spam' FROM generate_series(1, 1000) g;
INSERT INTO public.audit_logs (actor, action, detail, created_at)
SELECT NULL, 'history', jsonb_build_object('n', g), timestamptz '2025-01-01' + g * interval '1 minute'
FROM generate_series(1, 60000) g;
INSERT INTO public.audit_logs (actor, action, detail, created_at)
SELECT NULL, 'scheduled', jsonb_build_object('n', g), timestamptz '2027-06-01' + g * interval '1 hour'
FROM generate_series(1, 100) g;

ANALYZE;

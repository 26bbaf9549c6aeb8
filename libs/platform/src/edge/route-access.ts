import { SetMetadata } from '@nestjs/common';

/** Marks a controller or route as open to callers without an API key (health, metrics). */
export const PUBLIC_ROUTE = 'tandem:public-route';
export const PublicRoute = () => SetMetadata(PUBLIC_ROUTE, true);
